package platform.telemetry;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.stream.Stream;
import org.apache.parquet.example.data.Group;
import org.apache.parquet.hadoop.ParquetReader;
import org.apache.parquet.hadoop.example.GroupReadSupport;
import org.apache.parquet.schema.LogicalTypeAnnotation;
import org.apache.parquet.schema.PrimitiveType;
import org.apache.parquet.schema.Type;

/**
 * Local tool (not part of the job): prints the rows of the committed Parquet files under a lake
 * directory as JSON lines {@code {"file":..., "row":{...}}}. Files and directories whose name
 * starts with `.` or `_` (in-progress files, markers) are skipped, as Athena skips them.
 * Timestamps are printed as contract times (ISO-8601 UTC with milliseconds).
 */
public final class LakeDump {
  private LakeDump() {}

  public static void main(String[] args) throws IOException {
    Path root = Path.of(args[0]);
    if (!Files.isDirectory(root)) return;
    List<Path> files;
    try (Stream<Path> walk = Files.walk(root)) {
      files =
          walk.filter(Files::isRegularFile)
              .filter(p -> visible(root, p))
              .sorted()
              .toList();
    }
    StringBuilder out = new StringBuilder();
    for (Path file : files) {
      try (ParquetReader<Group> reader =
          ParquetReader.builder(new GroupReadSupport(), new org.apache.hadoop.fs.Path(file.toUri()))
              .build()) {
        Group g;
        while ((g = reader.read()) != null) {
          out.append("{\"file\":").append(quote(root.relativize(file).toString())).append(",\"row\":");
          appendGroup(out, g);
          out.append("}\n");
        }
      }
    }
    System.out.print(out);
    System.out.flush();
  }

  private static boolean visible(Path root, Path file) {
    for (Path part : root.relativize(file)) {
      String name = part.toString();
      if (name.startsWith(".") || name.startsWith("_")) return false;
    }
    return true;
  }

  private static void appendGroup(StringBuilder out, Group g) {
    out.append('{');
    List<Type> fields = g.getType().getFields();
    for (int i = 0; i < fields.size(); i++) {
      Type field = fields.get(i);
      if (i > 0) out.append(',');
      out.append(quote(field.getName())).append(':');
      if (g.getFieldRepetitionCount(i) == 0) {
        out.append("null");
        continue;
      }
      PrimitiveType p = field.asPrimitiveType();
      LogicalTypeAnnotation logical = p.getLogicalTypeAnnotation();
      switch (p.getPrimitiveTypeName()) {
        case BINARY -> out.append(quote(g.getString(i, 0)));
        case INT64 -> {
          long v = g.getLong(i, 0);
          if (logical instanceof LogicalTypeAnnotation.TimestampLogicalTypeAnnotation ts) {
            Instant at =
                switch (ts.getUnit()) {
                  case MILLIS -> Instant.ofEpochMilli(v);
                  case MICROS -> Instant.ofEpochSecond(0, v * 1000);
                  case NANOS -> Instant.ofEpochSecond(0, v);
                };
            out.append(quote(contractTime(at)));
          } else {
            out.append(v);
          }
        }
        case INT32 -> out.append(g.getInteger(i, 0));
        case DOUBLE -> out.append(g.getDouble(i, 0));
        case FLOAT -> out.append(g.getFloat(i, 0));
        case BOOLEAN -> out.append(g.getBoolean(i, 0));
        default -> out.append(quote(g.getValueToString(i, 0)));
      }
    }
    out.append('}');
  }

  private static String contractTime(Instant at) {
    String s = java.time.format.DateTimeFormatter.ofPattern("yyyy-MM-dd'T'HH:mm:ss.SSS'Z'")
        .withZone(java.time.ZoneOffset.UTC)
        .format(at);
    return s;
  }

  private static String quote(String s) {
    StringBuilder b = new StringBuilder("\"");
    for (char c : s.toCharArray()) {
      switch (c) {
        case '"' -> b.append("\\\"");
        case '\\' -> b.append("\\\\");
        case '\n' -> b.append("\\n");
        case '\r' -> b.append("\\r");
        case '\t' -> b.append("\\t");
        default -> {
          if (c < 0x20) b.append(String.format("\\u%04x", (int) c));
          else b.append(c);
        }
      }
    }
    return b.append('"').toString();
  }
}
