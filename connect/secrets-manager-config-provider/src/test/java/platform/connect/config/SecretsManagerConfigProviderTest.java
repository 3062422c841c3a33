package platform.connect.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.kafka.common.config.ConfigData;
import org.apache.kafka.common.config.ConfigException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The provider against an in-process stand-in for the GetSecretValue API (AWS JSON 1.1). */
class SecretsManagerConfigProviderTest {
  private static final Pattern SECRET_ID = Pattern.compile("\"SecretId\"\\s*:\\s*\"([^\"]*)\"");

  /** Secret name to SecretString. */
  private final Map<String, String> secrets = new HashMap<>();
  /** What the stand-in received: target, secret id and Authorization header of each request. */
  private final List<String[]> requests = new CopyOnWriteArrayList<>();
  private HttpServer server;
  private SecretsManagerConfigProvider provider;

  @BeforeEach
  void start() throws IOException {
    server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
    server.createContext("/", exchange -> {
      String body = new String(exchange.getRequestBody().readAllBytes(), StandardCharsets.UTF_8);
      Matcher id = SECRET_ID.matcher(body);
      String secretId = id.find() ? id.group(1) : null;
      requests.add(new String[] {
        exchange.getRequestHeaders().getFirst("X-Amz-Target"),
        secretId,
        exchange.getRequestHeaders().getFirst("Authorization"),
      });
      String secret = secrets.get(secretId);
      String answer;
      int status;
      if (secret != null) {
        status = 200;
        answer = "{\"ARN\":\"arn:aws:secretsmanager:eu-west-1:111122223333:secret:" + secretId
            + "-AbCdEf\",\"Name\":\"" + secretId + "\",\"VersionId\":\"v1\",\"SecretString\":"
            + jsonString(secret) + ",\"CreatedDate\":1735689600}";
      } else {
        status = 400;
        answer = "{\"__type\":\"ResourceNotFoundException\","
            + "\"Message\":\"Secrets Manager can't find the specified secret.\"}";
      }
      byte[] bytes = answer.getBytes(StandardCharsets.UTF_8);
      exchange.getResponseHeaders().add("Content-Type", "application/x-amz-json-1.1");
      exchange.sendResponseHeaders(status, bytes.length);
      exchange.getResponseBody().write(bytes);
      exchange.close();
    });
    server.start();
  }

  @AfterEach
  void stop() {
    if (provider != null) provider.close();
    server.stop(0);
  }

  private static String jsonString(String text) {
    return "\"" + text.replace("\\", "\\\\").replace("\"", "\\\"") + "\"";
  }

  private SecretsManagerConfigProvider provider(Map<String, String> extra) {
    Map<String, String> params = new HashMap<>();
    params.put("region", "eu-west-1");
    params.put("endpoint", "http://127.0.0.1:" + server.getAddress().getPort());
    params.putAll(extra);
    provider = new SecretsManagerConfigProvider();
    provider.configure(params);
    return provider;
  }

  @Test
  void returnsTheScalarFieldsOfTheSecretAndSignsTheRequest() {
    secrets.put("db", "{\"username\":\"cdc\",\"password\":\"p@ss\\\"word\",\"port\":5432,\"ssl\":true,"
        + "\"nested\":{\"a\":\"b\"},\"list\":[1],\"none\":null}");
    ConfigData data = provider(Map.of()).get("db");
    assertEquals(Map.of("username", "cdc", "password", "p@ss\"word", "port", "5432", "ssl", "true"), data.data());
    assertEquals(null, data.ttl());
    assertEquals(1, requests.size());
    String[] request = requests.get(0);
    assertEquals("secretsmanager.GetSecretValue", request[0]);
    assertEquals("db", request[1]);
    assertTrue(
        request[2].startsWith("AWS4-HMAC-SHA256 Credential=AKIDUNITTEST/")
            && request[2].contains("/eu-west-1/secretsmanager/aws4_request"),
        request[2]);
  }

  @Test
  void returnsExactlyTheKeysAskedFor() {
    secrets.put("db", "{\"username\":\"cdc\",\"password\":\"s3cret\",\"host\":\"h\"}");
    ConfigData data = provider(Map.of()).get("db", Set.of("username", "password"));
    assertEquals(Map.of("username", "cdc", "password", "s3cret"), data.data());
  }

  @Test
  void aMissingKeyNamesTheSecretAndTheKeyButNoValue() {
    secrets.put("db", "{\"username\":\"cdc\",\"pass\":\"s3cret\"}");
    ConfigException e =
        assertThrows(ConfigException.class, () -> provider(Map.of()).get("db", Set.of("username", "password")));
    assertTrue(e.getMessage().contains("'db'") && e.getMessage().contains("'password'"), e.getMessage());
    assertFalse(e.getMessage().contains("s3cret"), e.getMessage());
  }

  @Test
  void aMissingSecretIsNamed() {
    ConfigException e =
        assertThrows(ConfigException.class, () -> provider(Map.of()).get("nope", Set.of("username")));
    assertEquals("Secret 'nope' was not found in Secrets Manager", e.getMessage());
  }

  @Test
  void aSecretThatIsNotAJsonObjectIsRejectedWithoutQuotingIt() {
    secrets.put("plain", "hunter2");
    ConfigException e = assertThrows(ConfigException.class, () -> provider(Map.of()).get("plain"));
    assertTrue(e.getMessage().contains("'plain' is not a JSON object"), e.getMessage());
    assertFalse(e.getMessage().contains("hunter2"), e.getMessage());
  }

  @Test
  void cachesForTtlMsOnly() {
    secrets.put("db", "{\"username\":\"cdc\"}");
    SecretsManagerConfigProvider cached = provider(Map.of("ttl.ms", "60000"));
    cached.get("db");
    cached.get("db", Set.of("username"));
    assertEquals(1, requests.size());
    cached.close();

    SecretsManagerConfigProvider uncached = provider(Map.of());
    uncached.get("db");
    uncached.get("db");
    assertEquals(3, requests.size());
  }

  @Test
  void rejectsIncompleteOrInvalidParameters() {
    SecretsManagerConfigProvider p = new SecretsManagerConfigProvider();
    assertThrows(ConfigException.class, () -> p.configure(Map.of()));
    assertThrows(ConfigException.class, () -> p.configure(Map.of("region", "eu-west-1", "ttl.ms", "-5")));
    assertThrows(ConfigException.class, () -> p.configure(Map.of("region", "eu-west-1", "endpoint", "not a url")));
    SecretsManagerConfigProvider configured = provider(Map.of());
    assertThrows(ConfigException.class, () -> configured.get("", Set.of("username")));
  }
}
