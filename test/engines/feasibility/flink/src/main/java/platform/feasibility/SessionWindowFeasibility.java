package platform.feasibility;

import java.lang.management.ManagementFactory;
import java.time.Instant;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.TreeSet;

import org.apache.flink.configuration.Configuration;
import org.apache.flink.runtime.util.EnvironmentInformation;
import org.apache.flink.table.api.EnvironmentSettings;
import org.apache.flink.table.api.TableEnvironment;
import org.apache.flink.table.api.TableResult;
import org.apache.flink.types.Row;
import org.apache.flink.util.CloseableIterator;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.StringSerializer;

/**
 * Engine feasibility (A): writes 20 JSON events for 2 keys to a Kafka topic, then runs a Flink SQL
 * SESSION window TVF over it in a local MiniCluster (bounded Kafka source, so the job ends) and
 * compares the session rows with the expected ones. Exit code 0 = PASS.
 *
 * <p>Args: bootstrap servers (default 127.0.0.1:29092), topic (default feas-events).
 */
public final class SessionWindowFeasibility {
  private static final LocalDateTime T0 = LocalDateTime.of(2025, 1, 1, 0, 0, 0);
  private static final int GAP_SECONDS = 5;
  private static final DateTimeFormatter HMS = DateTimeFormatter.ofPattern("HH:mm:ss");
  private static final DateTimeFormatter ISO = DateTimeFormatter.ofPattern("yyyy-MM-dd'T'HH:mm:ss");

  public static void main(String[] args) throws Exception {
    String bootstrap = args.length > 0 ? args[0] : "127.0.0.1:29092";
    String topic = args.length > 1 ? args[1] : "feas-events";

    // key -> event offsets (seconds from T0). With a 5 s gap: a = [0,9) [20,29); b = [0,11) [15,23) [40,47).
    Map<String, int[]> events = Map.of(
        "a", new int[] {0, 1, 2, 3, 4, 20, 21, 22, 23, 24},
        "b", new int[] {0, 3, 6, 15, 16, 17, 18, 40, 41, 42});
    Set<String> expected = new TreeSet<>(List.of(
        "a|00:00:00|00:00:09|5", "a|00:00:20|00:00:29|5",
        "b|00:00:00|00:00:11|3", "b|00:00:15|00:00:23|4", "b|00:00:40|00:00:47|3"));

    System.out.println("flink.version=" + EnvironmentInformation.getVersion()
        + " java.version=" + System.getProperty("java.version"));
    long p0 = System.currentTimeMillis();
    produce(bootstrap, topic, events);
    System.out.printf("kafka.produce_ms=%d%n", System.currentTimeMillis() - p0);

    Configuration conf = new Configuration();
    conf.setString("parallelism.default", "1");
    conf.setString("taskmanager.numberOfTaskSlots", "1");
    conf.setString("taskmanager.memory.managed.size", "64m");
    conf.setString("taskmanager.memory.network.min", "32m");
    conf.setString("taskmanager.memory.network.max", "32m");
    conf.setString("jobmanager.bind-host", "127.0.0.1");
    conf.setString("taskmanager.bind-host", "127.0.0.1");
    conf.setString("taskmanager.host", "127.0.0.1");
    conf.setString("rest.bind-address", "127.0.0.1");
    TableEnvironment tEnv = TableEnvironment.create(
        EnvironmentSettings.newInstance().inStreamingMode().withConfiguration(conf).build());

    tEnv.executeSql(
        "CREATE TABLE events (k STRING, v INT, ts TIMESTAMP(3),"
            + " WATERMARK FOR ts AS ts - INTERVAL '1' SECOND) WITH ("
            + " 'connector' = 'kafka', 'topic' = '" + topic + "',"
            + " 'properties.bootstrap.servers' = '" + bootstrap + "',"
            + " 'properties.group.id' = 'feas-flink',"
            + " 'scan.startup.mode' = 'earliest-offset', 'scan.bounded.mode' = 'latest-offset',"
            + " 'format' = 'json', 'json.timestamp-format.standard' = 'ISO-8601')");

    String sql = "SELECT k, window_start, window_end, COUNT(*) AS n, SUM(v) AS total"
        + " FROM TABLE(SESSION(TABLE events PARTITION BY k, DESCRIPTOR(ts), INTERVAL '"
        + GAP_SECONDS + "' SECOND))"
        + " GROUP BY k, window_start, window_end";

    long jvmStart = ManagementFactory.getRuntimeMXBean().getStartTime();
    long t0 = System.currentTimeMillis();
    long firstRow = -1;
    Set<String> actual = new TreeSet<>();
    TableResult result = tEnv.executeSql(sql); // submits the job; the MiniCluster starts here
    try (CloseableIterator<Row> it = result.collect()) {
      while (it.hasNext()) {
        Row r = it.next();
        if (firstRow < 0) {
          firstRow = System.currentTimeMillis();
        }
        System.out.println("session row: " + r);
        actual.add(r.getField("k") + "|" + time(r.getField("window_start")) + "|"
            + time(r.getField("window_end")) + "|" + r.getField("n"));
      }
    }
    long done = System.currentTimeMillis();

    System.out.printf("flink.job_submit_to_first_row_ms=%d%n", firstRow - t0);
    System.out.printf("flink.jvm_start_to_first_row_ms=%d%n", firstRow - jvmStart);
    System.out.printf("flink.job_total_ms=%d%n", done - t0);
    boolean pass = actual.equals(expected);
    System.out.println("expected=" + expected);
    System.out.println("actual  =" + actual);
    System.out.println((pass ? "PASS" : "FAIL") + " flink session window TVF over Kafka");
    System.exit(pass ? 0 : 1);
  }

  private static String time(Object ts) {
    return HMS.format((LocalDateTime) ts);
  }

  private static void produce(String bootstrap, String topic, Map<String, int[]> events)
      throws Exception {
    Properties p = new Properties();
    p.put("bootstrap.servers", bootstrap);
    try (Admin admin = Admin.create(p)) {
      if (!admin.listTopics().names().get().contains(topic)) {
        admin.createTopics(List.of(new NewTopic(topic, 1, (short) 1))).all().get();
      }
    }
    // one partition, records in event-time order across both keys
    List<String[]> records = new ArrayList<>();
    events.forEach((k, offs) -> {
      for (int s : offs) {
        records.add(new String[] {k, String.valueOf(s)});
      }
    });
    records.sort((x, y) -> Integer.compare(Integer.parseInt(x[1]), Integer.parseInt(y[1])));
    p.put("key.serializer", StringSerializer.class.getName());
    p.put("value.serializer", StringSerializer.class.getName());
    p.put("acks", "all");
    try (KafkaProducer<String, String> producer = new KafkaProducer<>(p)) {
      for (String[] r : records) {
        int s = Integer.parseInt(r[1]);
        String ts = ISO.format(T0.plusSeconds(s));
        String json = String.format("{\"k\":\"%s\",\"v\":%d,\"ts\":\"%s\"}", r[0], s, ts);
        producer.send(new ProducerRecord<>(topic, r[0], json)).get();
      }
    }
    System.out.println("produced " + records.size() + " records to " + topic + " at "
        + Instant.now());
  }
}
