package platform.telemetry;

import com.amazonaws.services.kinesisanalytics.runtime.KinesisAnalyticsRuntime;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.table.api.EnvironmentSettings;
import org.apache.flink.table.api.StatementSet;
import org.apache.flink.table.api.TableEnvironment;
import org.apache.flink.table.api.TableResult;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs the sessionize SQL (docs/telemetry-path.md): reads the runtime properties (group
 * `sessionize`), substitutes them into the SQL, runs SET and CREATE statements one by one and every
 * INSERT in ONE statement set, that is one job.
 *
 * <p>On Managed Flink: no arguments; the properties come from the application's
 * EnvironmentProperties and checkpointing from its configuration. Locally: {@code --local
 * --properties <file.json>} (the same JSON as the runtime's, plus a group `local` of Flink settings
 * such as the checkpoint interval and directory and the parallelism, which AWS never gets), and
 * optionally {@code --sql-file <path>} instead of the bundled SQL. Locally the runner waits for the
 * job and exits non-zero when it fails; with {@code --explain} it prints the statement set's plan
 * instead of running it.
 */
public final class SessionizeJob {
  public static final String PROPERTY_GROUP = "sessionize";
  public static final String LOCAL_GROUP = "local";
  /** Printed once the job is RUNNING (the local harness waits for it). */
  public static final String RUNNING_MARKER = "SESSIONIZE_JOB_RUNNING";

  private static final Logger LOG = LoggerFactory.getLogger(SessionizeJob.class);
  private static final Pattern SET =
      Pattern.compile("(?is)SET\\s+'([^']+)'\\s*=\\s*'([^']*)'");

  private SessionizeJob() {}

  public static void main(String[] args) throws Exception {
    boolean local = false;
    boolean explain = false;
    String propertiesFile = null;
    String sqlFile = null;
    for (int i = 0; i < args.length; i++) {
      switch (args[i]) {
        case "--local" -> local = true;
        case "--properties" -> propertiesFile = args[++i];
        case "--sql-file" -> sqlFile = args[++i];
        case "--explain" -> explain = true;
        default -> throw new IllegalArgumentException("unknown argument " + args[i]);
      }
    }
    if (explain && !local) throw new IllegalArgumentException("--explain needs --local");
    if (!local) {
      run(false, false, propertiesFile, sqlFile);
      return;
    }
    // A failed job leaves the mini cluster's threads alive: exit explicitly either way.
    try {
      run(true, explain, propertiesFile, sqlFile);
      LOG.info("sessionize job finished");
      System.exit(0);
    } catch (Throwable e) {
      LOG.error("sessionize job failed", e);
      System.err.flush();
      System.exit(1);
    }
  }

  private static void run(boolean local, boolean explain, String propertiesFile, String sqlFile)
      throws Exception {
    if (local && propertiesFile == null) {
      throw new IllegalArgumentException("--local needs --properties <file.json>");
    }
    Map<String, Properties> groups =
        propertiesFile != null
            ? KinesisAnalyticsRuntime.getApplicationProperties(propertiesFile)
            : KinesisAnalyticsRuntime.getApplicationProperties();
    Properties group = groups.get(PROPERTY_GROUP);
    if (group == null) {
      throw new IllegalArgumentException(
          "no property group " + PROPERTY_GROUP + " (groups: " + groups.keySet() + ")");
    }
    Map<String, String> properties = new HashMap<>();
    group.stringPropertyNames().forEach(k -> properties.put(k, group.getProperty(k)));

    Configuration configuration = new Configuration();
    if (local) {
      Properties localGroup = groups.getOrDefault(LOCAL_GROUP, new Properties());
      Map<String, String> settings = new TreeMap<>();
      localGroup.stringPropertyNames().forEach(k -> settings.put(k, localGroup.getProperty(k)));
      LOG.info("local Flink settings: {}", settings);
      configuration = Configuration.fromMap(settings);
    }
    TableEnvironment tEnv =
        TableEnvironment.create(
            EnvironmentSettings.newInstance()
                .inStreamingMode()
                .withConfiguration(configuration)
                .build());
    tEnv.getConfig().set("table.local-time-zone", "UTC");

    String script = sqlFile != null ? Files.readString(Path.of(sqlFile)) : bundledSql();
    TreeMap<String, String> used = new TreeMap<>();
    List<String> statements = SqlScript.prepare(script, properties, used);
    used.forEach((k, v) -> LOG.info("sessionize property {} = {}", k, v));

    StatementSet inserts = tEnv.createStatementSet();
    int insertCount = 0;
    for (String statement : statements) {
      String head = statement.stripLeading().toUpperCase(Locale.ROOT);
      if (head.startsWith("INSERT")) {
        inserts.addInsertSql(statement);
        insertCount++;
      } else if (head.startsWith("SET")) {
        Matcher m = SET.matcher(statement.strip());
        if (!m.matches()) throw new IllegalArgumentException("unsupported SET statement: " + statement);
        tEnv.getConfig().set(m.group(1), m.group(2));
        LOG.info("SET {} = {}", m.group(1), m.group(2));
      } else {
        tEnv.executeSql(statement);
      }
    }
    if (insertCount == 0) throw new IllegalArgumentException("the SQL has no INSERT statement");

    if (explain) {
      // Local only: the optimized plan of the statement set (operators, their expressions), no job.
      System.out.println(inserts.explain());
      return;
    }
    TableResult result = inserts.execute();
    JobClient client = result.getJobClient().orElseThrow();
    LOG.info("sessionize job {} submitted with {} INSERT statements", client.getJobID(), insertCount);
    if (!local) return;

    while (true) {
      var status = client.getJobStatus().get();
      if (status.isGloballyTerminalState()) break;
      if (status.name().equals("RUNNING")) {
        System.err.println(RUNNING_MARKER + " " + client.getJobID());
        System.err.flush();
        break;
      }
      Thread.sleep(100);
    }
    // Throws when the job fails.
    client.getJobExecutionResult().get();
  }

  private static String bundledSql() throws IOException {
    try (InputStream in = SessionizeJob.class.getClassLoader().getResourceAsStream("sessionize.sql")) {
      if (in == null) throw new IllegalStateException("sessionize.sql is not on the class path");
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    }
  }
}
