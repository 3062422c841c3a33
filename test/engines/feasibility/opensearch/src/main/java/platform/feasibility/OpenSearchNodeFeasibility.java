package platform.feasibility;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;

import org.opensearch.common.settings.Settings;
import org.opensearch.env.Environment;
import org.opensearch.node.InternalSettingsPreparer;
import org.opensearch.node.Node;
import org.opensearch.plugins.Plugin;
import org.opensearch.transport.Netty4Plugin;

/**
 * Engine feasibility (B): starts one OpenSearch node in this JVM (no distribution tarball), with the
 * transport-netty4 module on the class path, bound to 127.0.0.1 only. Runs until SIGTERM, then
 * closes the node. The HTTP checks are done from outside (run.sh, curl).
 *
 * <p>Args: home dir (default /tmp/feas/opensearch), HTTP port (default 29200), transport port
 * (default 29300).
 */
public final class OpenSearchNodeFeasibility {

  /** Node's constructor that takes class-path plugins is protected. */
  static final class EmbeddedNode extends Node {
    EmbeddedNode(Environment env, List<Class<? extends Plugin>> plugins) {
      super(env, plugins, true);
    }
  }

  public static void main(String[] args) throws Exception {
    Path home = Path.of(args.length > 0 ? args[0] : "/tmp/feas/opensearch");
    String httpPort = args.length > 1 ? args[1] : "29200";
    String transportPort = args.length > 2 ? args[2] : "29300";
    Path config = Files.createDirectories(home.resolve("config"));
    Files.createDirectories(home.resolve("plugins"));
    Files.createDirectories(home.resolve("modules"));

    Settings settings = Settings.builder()
        .put("path.home", home.toString())
        .put("path.data", home.resolve("data").toString())
        .put("path.logs", home.resolve("logs").toString())
        .put("cluster.name", "feasibility")
        .put("node.name", "feas-1")
        .put("network.host", "127.0.0.1")
        .put("http.port", httpPort)
        .put("transport.port", transportPort)
        .put("discovery.type", "single-node")
        .put("cluster.routing.allocation.disk.threshold_enabled", false)
        .build();
    Environment env = InternalSettingsPreparer.prepareEnvironment(
        settings, Map.of(), config, () -> "feas-1");

    Node node = new EmbeddedNode(env, List.of(Netty4Plugin.class));
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
    System.out.println("opensearch node started: version " + org.opensearch.Version.CURRENT
        + ", http 127.0.0.1:" + httpPort);
    closed.await();
  }
}
