import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.CountDownLatch;

import org.opensearch.common.logging.LogConfigurator;
import org.opensearch.common.settings.Settings;
import org.opensearch.env.Environment;
import org.opensearch.node.InternalSettingsPreparer;
import org.opensearch.node.Node;

/**
 * Runs one OpenSearch node from a home dir laid out by test/engines/harness/opensearch.ts
 * (config/opensearch.yml, config/log4j2.properties, modules/transport-netty4) until SIGTERM, then
 * closes it. This is what org.opensearch.bootstrap.OpenSearch does, less the bootstrap's native
 * set-up, which refuses to run as root (CI machines run the tests as root).
 *
 * <p>Run in source-file mode: {@code java -cp <server class path> LocalNode.java <home>}.
 */
public final class LocalNode {
  public static void main(String[] args) throws Exception {
    Path home = Path.of(args[0]);
    Settings settings = Settings.builder().put("path.home", home.toString()).build();
    Environment env = InternalSettingsPreparer.prepareEnvironment(
        settings, Map.of(), home.resolve("config"), () -> "local-1");
    LogConfigurator.registerErrorListener();
    LogConfigurator.setNodeName("local-1");
    LogConfigurator.configure(env);
    Node node = new Node(env);
    CountDownLatch closed = new CountDownLatch(1);
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      try {
        node.close();
      } catch (Exception e) {
        e.printStackTrace();
      } finally {
        closed.countDown();
      }
    }));
    node.start();
    closed.await();
  }
}
