package platform.connect.config;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.net.URI;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.common.config.ConfigData;
import org.apache.kafka.common.config.ConfigException;
import org.apache.kafka.common.config.provider.ConfigProvider;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import software.amazon.awssdk.core.exception.SdkException;
import software.amazon.awssdk.http.urlconnection.UrlConnectionHttpClient;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.secretsmanager.SecretsManagerClient;
import software.amazon.awssdk.services.secretsmanager.SecretsManagerClientBuilder;
import software.amazon.awssdk.services.secretsmanager.model.GetSecretValueResponse;
import software.amazon.awssdk.services.secretsmanager.model.ResourceNotFoundException;

/**
 * Resolves {@code ${<provider name>:<secret>:<key>}} placeholders from AWS Secrets Manager.
 *
 * <p>The path is a secret's name (or ARN, where the caller can pass one: Kafka's placeholder syntax
 * ends the path at the first {@code :}, so placeholders can only carry names). Its SecretString must
 * be a JSON object; {@link #get(String)} returns every top-level scalar field (strings as they are,
 * numbers and booleans as their JSON text) and {@link #get(String, Set)} exactly the keys asked for,
 * failing with a {@link ConfigException} that names the secret and the missing key. Secret values
 * are never logged nor put into exception messages.
 *
 * <p>Parameters ({@code config.providers.<name>.param.<parameter>}):
 *
 * <ul>
 *   <li>{@code region}: the secrets' AWS region; required unless {@code endpoint} is set, in which
 *       case the SDK's default region chain ({@code AWS_REGION}, profile) supplies it.
 *   <li>{@code endpoint}: optional Secrets Manager endpoint URL (an interface endpoint's DNS name, or
 *       a local stand-in for tests).
 *   <li>{@code ttl.ms}: optional; how long a fetched secret is reused. Default 0: every resolution
 *       reads the secret again, so a rotated value is picked up at the next connector or task start.
 * </ul>
 *
 * <p>Credentials come from the SDK's default provider chain (on MSK Connect the connector's service
 * execution role, which needs {@code secretsmanager:GetSecretValue} on the secret, plus
 * {@code kms:Decrypt} for a customer-managed key).
 */
public final class SecretsManagerConfigProvider implements ConfigProvider {
  public static final String REGION_PARAM = "region";
  public static final String ENDPOINT_PARAM = "endpoint";
  public static final String TTL_MS_PARAM = "ttl.ms";

  private static final Logger log = LoggerFactory.getLogger(SecretsManagerConfigProvider.class);
  private static final ObjectMapper JSON = new ObjectMapper();

  private record CachedSecret(Map<String, String> values, long expiresAtNanos) {}

  private final Map<String, CachedSecret> cache = new ConcurrentHashMap<>();
  private SecretsManagerClient client;
  private long ttlNanos;

  @Override
  public void configure(Map<String, ?> params) {
    String region = param(params, REGION_PARAM);
    String endpoint = param(params, ENDPOINT_PARAM);
    String ttl = param(params, TTL_MS_PARAM);
    if (region == null && endpoint == null)
      throw new ConfigException(
          REGION_PARAM, null, "the Secrets Manager region is required unless '" + ENDPOINT_PARAM + "' is set");
    long ttlMs = 0;
    if (ttl != null) {
      try {
        ttlMs = Long.parseLong(ttl);
      } catch (NumberFormatException e) {
        ttlMs = -1;
      }
      if (ttlMs < 0)
        throw new ConfigException(TTL_MS_PARAM, ttl, "must be a number of milliseconds >= 0");
    }
    ttlNanos = TimeUnit.MILLISECONDS.toNanos(ttlMs);

    SecretsManagerClientBuilder builder =
        SecretsManagerClient.builder().httpClientBuilder(UrlConnectionHttpClient.builder());
    if (region != null) builder.region(Region.of(region));
    if (endpoint != null) builder.endpointOverride(endpointUri(endpoint));
    try {
      client = builder.build();
    } catch (SdkException e) {
      throw new ConfigException(
          "Secrets Manager config provider: cannot create the client (set the '"
              + REGION_PARAM
              + "' parameter or AWS_REGION): "
              + e.getMessage());
    }
    log.info(
        "Secrets Manager config provider: region {}, endpoint {}, cache ttl {} ms",
        client.serviceClientConfiguration().region(),
        endpoint == null ? "default" : endpoint,
        ttlMs);
  }

  /** Every top-level scalar field of the secret's JSON SecretString. */
  @Override
  public ConfigData get(String path) {
    return new ConfigData(secret(path));
  }

  /** The fields {@code keys} of the secret's JSON SecretString; all of them must be present. */
  @Override
  public ConfigData get(String path, Set<String> keys) {
    Map<String, String> values = secret(path);
    Map<String, String> wanted = new LinkedHashMap<>();
    for (String key : keys) {
      String value = values.get(key);
      if (value == null)
        throw new ConfigException(
            "Secret '" + path + "' has no key '" + key + "' (a string, number or boolean field)");
      wanted.put(key, value);
    }
    return new ConfigData(wanted);
  }

  @Override
  public void close() {
    cache.clear();
    if (client != null) client.close();
  }

  private Map<String, String> secret(String path) {
    if (path == null || path.isEmpty())
      throw new ConfigException("Secrets Manager config provider: a secret name is required");
    if (client == null)
      throw new IllegalStateException("Secrets Manager config provider is not configured");
    long now = System.nanoTime();
    CachedSecret cached = cache.get(path);
    if (cached != null && now - cached.expiresAtNanos() < 0) return cached.values();
    Map<String, String> values = fetch(path);
    if (ttlNanos > 0) cache.put(path, new CachedSecret(values, now + ttlNanos));
    return values;
  }

  private Map<String, String> fetch(String path) {
    GetSecretValueResponse response;
    try {
      response = client.getSecretValue(request -> request.secretId(path));
    } catch (ResourceNotFoundException e) {
      throw new ConfigException("Secret '" + path + "' was not found in Secrets Manager");
    } catch (SdkException e) {
      throw new ConfigException("Cannot read secret '" + path + "' from Secrets Manager: " + e.getMessage());
    }
    if (response.secretString() == null)
      throw new ConfigException("Secret '" + path + "' has no SecretString (binary secrets are not supported)");
    JsonNode root;
    try {
      root = JSON.readTree(response.secretString());
    } catch (JsonProcessingException e) {
      // The parser's message may quote the secret: never pass it on.
      root = null;
    }
    if (root == null || !root.isObject())
      throw new ConfigException("Secret '" + path + "' is not a JSON object of key/value pairs");
    Map<String, String> values = new LinkedHashMap<>();
    for (Map.Entry<String, JsonNode> field : root.properties()) {
      JsonNode value = field.getValue();
      if (value.isValueNode() && !value.isNull()) values.put(field.getKey(), value.asText());
    }
    log.debug("Read secret '{}' (version {}, {} keys)", path, response.versionId(), values.size());
    return Collections.unmodifiableMap(values);
  }

  private static URI endpointUri(String endpoint) {
    try {
      URI uri = URI.create(endpoint);
      if (uri.getHost() != null && ("https".equals(uri.getScheme()) || "http".equals(uri.getScheme())))
        return uri;
    } catch (IllegalArgumentException e) {
      // reported below
    }
    throw new ConfigException(ENDPOINT_PARAM, endpoint, "must be an http(s) URL");
  }

  private static String param(Map<String, ?> params, String name) {
    Object value = params == null ? null : params.get(name);
    if (value == null) return null;
    String text = value.toString().trim();
    return text.isEmpty() ? null : text;
  }
}
