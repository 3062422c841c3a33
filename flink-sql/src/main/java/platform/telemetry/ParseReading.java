package platform.telemetry;

import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.LocalDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.Arrays;
import java.util.Map;
import java.util.regex.Pattern;
import org.apache.flink.shaded.jackson2.com.fasterxml.jackson.core.JsonFactory;
import org.apache.flink.shaded.jackson2.com.fasterxml.jackson.databind.DeserializationFeature;
import org.apache.flink.shaded.jackson2.com.fasterxml.jackson.databind.ObjectMapper;
import org.apache.flink.shaded.jackson2.com.fasterxml.jackson.databind.ObjectReader;
import org.apache.flink.table.annotation.DataTypeHint;
import org.apache.flink.table.data.TimestampData;
import org.apache.flink.table.functions.ScalarFunction;
import org.apache.flink.table.utils.DateTimeUtils;
import org.apache.flink.types.Row;

/**
 * Steps 2 and 4 of docs/telemetry-path.md in one pass: a telemetry.raw value (bytes) either is a
 * valid reading (deviceId, ts, temperature, humidity, battery, status; {@code reason} NULL) or a
 * dead letter ({@code reason} {@code invalid_json} or {@code schema_violation}, {@code detail} the
 * {@code dlq.detail} text, every reading field NULL). The value is parsed ONCE per record.
 *
 * <p>The checks are those the SQL made with Flink's JSON functions, with Flink's own parser
 * settings (the shaded Jackson of flink-dist, configured as Flink's {@code SqlJsonUtils}: floats as
 * BigDecimal, trailing content ignored) and Flink's {@code TO_TIMESTAMP(text, format)}:
 *
 * <ul>
 *   <li>{@code invalid_json}: not UTF-8, or not a JSON object;
 *   <li>{@code schema_violation}, the first failing field in the order deviceId (a non-empty
 *       string), ts (a string matching {@code YYYY-MM-DDTHH:MM:SS.sssZ} that TO_TIMESTAMP reads, and
 *       not more than {@code maxFutureSkewSeconds} ahead of the Kafka record's timestamp),
 *       temperature, humidity, battery (JSON numbers), status ({@code ok} or {@code error}).
 * </ul>
 *
 * <p>Registered by the SQL as a temporary system function. The table's computed column
 * {@code event_time} (the watermark's) and the parse view both call it with the same arguments, in
 * the source task and in the operator chained to it, on the same thread: each thread remembers its
 * last input and result, so the second and later calls for a record cost a byte comparison, not a
 * parse. The function is deterministic (same input, same row).
 */
public final class ParseReading extends ScalarFunction {
  private static final long serialVersionUID = 1L;

  /** The row the SQL reads; `event_time` is the reading's ts, NULL unless the record is valid. */
  public static final String RESULT_TYPE =
      "ROW<deviceId STRING, event_time TIMESTAMP(3), temperature DOUBLE, humidity DOUBLE,"
          + " battery DOUBLE, status STRING, reason STRING, detail STRING>";

  static final String INVALID_JSON = "invalid_json";
  static final String SCHEMA_VIOLATION = "schema_violation";
  static final String NOT_JSON_DETAIL = "the value is not a JSON object in UTF-8";

  /** Flink's SqlJsonUtils mapper: JsonFactory defaults, floats as BigDecimal. */
  private static final ObjectReader READER =
      new ObjectMapper(new JsonFactory())
          .configure(DeserializationFeature.USE_BIG_DECIMAL_FOR_FLOATS, true)
          .reader()
          .forType(Object.class);

  /** The SQL's REGEXP (Matcher.find) on ts, then TO_TIMESTAMP with this format. */
  private static final Pattern TS =
      Pattern.compile("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}[.][0-9]{3}Z$");

  private static final String TS_FORMAT = "yyyy-MM-dd'T'HH:mm:ss.SSS'Z'";
  private static final DateTimeFormatter CONTRACT_TIME =
      DateTimeFormatter.ofPattern("yyyy-MM-dd'T'HH:mm:ss.SSS'Z'").withZone(ZoneOffset.UTC);

  /** The last input and result of this thread (see the class comment). */
  private static final ThreadLocal<Memo> LAST = ThreadLocal.withInitial(Memo::new);

  private static final class Memo {
    byte[] value;
    long recordTimestamp;
    boolean hasRecordTimestamp;
    int maxFutureSkewSeconds;
    Row result;
  }

  public @DataTypeHint(RESULT_TYPE) Row eval(
      byte[] value,
      @DataTypeHint("TIMESTAMP_LTZ(3)") Instant recordTimestamp,
      Integer maxFutureSkewSeconds) {
    Memo memo = LAST.get();
    boolean hasTs = recordTimestamp != null;
    long ts = hasTs ? recordTimestamp.toEpochMilli() : 0L;
    int skew = maxFutureSkewSeconds == null ? -1 : maxFutureSkewSeconds;
    if (memo.result != null
        && memo.hasRecordTimestamp == hasTs
        && memo.recordTimestamp == ts
        && memo.maxFutureSkewSeconds == skew
        && Arrays.equals(memo.value, value)) {
      return memo.result;
    }
    Row result = parse(value, recordTimestamp, skew);
    memo.value = value == null ? null : value.clone();
    memo.hasRecordTimestamp = hasTs;
    memo.recordTimestamp = ts;
    memo.maxFutureSkewSeconds = skew;
    memo.result = result;
    return result;
  }

  /** The verdict on one value; no memo. */
  static Row parse(byte[] value, Instant recordTimestamp, int maxFutureSkewSeconds) {
    if (value == null) return deadLetter(INVALID_JSON, NOT_JSON_DETAIL);
    String text;
    try {
      CharsetDecoder decoder =
          StandardCharsets.UTF_8
              .newDecoder()
              .onMalformedInput(CodingErrorAction.REPORT)
              .onUnmappableCharacter(CodingErrorAction.REPORT);
      CharBuffer chars = decoder.decode(ByteBuffer.wrap(value));
      text = chars.toString();
    } catch (CharacterCodingException e) {
      return deadLetter(INVALID_JSON, NOT_JSON_DETAIL);
    }
    Object doc;
    try {
      doc = READER.readValue(text);
    } catch (Exception e) {
      return deadLetter(INVALID_JSON, NOT_JSON_DETAIL);
    }
    if (!(doc instanceof Map)) return deadLetter(INVALID_JSON, NOT_JSON_DETAIL);
    Map<?, ?> fields = (Map<?, ?>) doc;

    Object deviceId = fields.get("deviceId");
    if (!(deviceId instanceof String) || ((String) deviceId).isEmpty()) {
      return deadLetter(SCHEMA_VIOLATION, "deviceId must be a non-empty string");
    }
    LocalDateTime eventTime = readingTime(fields.get("ts"));
    if (eventTime == null) {
      return deadLetter(SCHEMA_VIOLATION, "ts must be an ISO-8601 UTC time with milliseconds");
    }
    // A Kafka record without a timestamp (-1) is not checked: there is nothing to compare with.
    if (maxFutureSkewSeconds >= 0 && recordTimestamp != null && recordTimestamp.toEpochMilli() >= 0) {
      long ahead = eventTime.toInstant(ZoneOffset.UTC).toEpochMilli() - recordTimestamp.toEpochMilli();
      if (ahead > maxFutureSkewSeconds * 1000L) {
        return deadLetter(
            SCHEMA_VIOLATION,
            "ts must not be more than "
                + maxFutureSkewSeconds
                + " s ahead of the record's timestamp "
                + CONTRACT_TIME.format(recordTimestamp));
      }
    }
    Object temperature = fields.get("temperature");
    if (!(temperature instanceof Number)) {
      return deadLetter(SCHEMA_VIOLATION, "temperature must be a number");
    }
    Object humidity = fields.get("humidity");
    if (!(humidity instanceof Number)) return deadLetter(SCHEMA_VIOLATION, "humidity must be a number");
    Object battery = fields.get("battery");
    if (!(battery instanceof Number)) return deadLetter(SCHEMA_VIOLATION, "battery must be a number");
    Object status = fields.get("status");
    if (!"ok".equals(status) && !"error".equals(status)) {
      return deadLetter(SCHEMA_VIOLATION, "status must be ok or error");
    }
    return Row.of(
        deviceId,
        eventTime,
        ((Number) temperature).doubleValue(),
        ((Number) humidity).doubleValue(),
        ((Number) battery).doubleValue(),
        status,
        null,
        null);
  }

  /** ts as the SQL read it: a string matching {@link #TS} that TO_TIMESTAMP parses, else NULL. */
  private static LocalDateTime readingTime(Object ts) {
    if (!(ts instanceof String) || !TS.matcher((String) ts).find()) return null;
    try {
      TimestampData parsed = DateTimeUtils.parseTimestampData((String) ts, TS_FORMAT);
      return parsed == null ? null : parsed.toLocalDateTime();
    } catch (RuntimeException e) {
      return null;
    }
  }

  private static Row deadLetter(String reason, String detail) {
    return Row.of(null, null, null, null, null, null, reason, detail);
  }
}
