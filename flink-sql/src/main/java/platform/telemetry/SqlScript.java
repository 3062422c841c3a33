package platform.telemetry;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The SQL file as statements: split on `;` outside strings, quoted identifiers and comments
 * (comments dropped), then `${name}` placeholders replaced by runtime properties.
 */
public final class SqlScript {
  private static final Pattern PLACEHOLDER = Pattern.compile("\\$\\{([^}]*)}");

  private SqlScript() {}

  /**
   * Splits a script into statements: a `;` ends a statement only outside '...' strings (with ''
   * escapes), `...` identifiers, "..." identifiers, -- line comments and block comments. Comments
   * are left out of the statements; empty statements are dropped.
   */
  public static List<String> split(String script) {
    List<String> statements = new ArrayList<>();
    StringBuilder current = new StringBuilder();
    int i = 0;
    int n = script.length();
    while (i < n) {
      char c = script.charAt(i);
      if (c == '\'' || c == '`' || c == '"') {
        int end = i + 1;
        while (true) {
          if (end >= n) throw new IllegalArgumentException("unterminated " + c + " quote at offset " + i);
          if (script.charAt(end) == c) {
            if (end + 1 < n && script.charAt(end + 1) == c) {
              end += 2; // doubled quote: an escaped quote inside the string
              continue;
            }
            break;
          }
          end++;
        }
        current.append(script, i, end + 1);
        i = end + 1;
      } else if (c == '-' && i + 1 < n && script.charAt(i + 1) == '-') {
        int end = script.indexOf('\n', i);
        i = end < 0 ? n : end;
      } else if (c == '/' && i + 1 < n && script.charAt(i + 1) == '*') {
        int end = script.indexOf("*/", i + 2);
        if (end < 0) throw new IllegalArgumentException("unterminated block comment at offset " + i);
        current.append(' ');
        i = end + 2;
      } else if (c == ';') {
        addStatement(statements, current);
        i++;
      } else {
        current.append(c);
        i++;
      }
    }
    addStatement(statements, current);
    return statements;
  }

  private static void addStatement(List<String> statements, StringBuilder current) {
    String statement = current.toString().strip();
    if (!statement.isEmpty()) statements.add(statement);
    current.setLength(0);
  }

  /**
   * Replaces every `${name}` with the property `name`. Fails naming the placeholder (and listing
   * the properties that are set) when one is not set, and refuses a value with a quote or a line
   * break (it could end a SQL string). Records each substitution in `used`.
   */
  public static String substitute(
      String statement, Map<String, String> properties, Map<String, String> used) {
    Matcher m = PLACEHOLDER.matcher(statement);
    StringBuilder out = new StringBuilder();
    while (m.find()) {
      String name = m.group(1);
      String value = properties.get(name);
      if (value == null) {
        throw new IllegalArgumentException(
            "the SQL names the property ${"
                + name
                + "}, which is not set in property group "
                + SessionizeJob.PROPERTY_GROUP
                + " (set: "
                + new TreeSet<>(properties.keySet())
                + ")");
      }
      if (value.indexOf('\'') >= 0 || value.indexOf('\n') >= 0 || value.indexOf('\r') >= 0) {
        throw new IllegalArgumentException(
            "the property " + name + " contains a quote or a line break: refused");
      }
      used.put(name, value);
      m.appendReplacement(out, Matcher.quoteReplacement(value));
    }
    m.appendTail(out);
    return out.toString();
  }

  /** Splits, then substitutes each statement; returns the statements and fills `used`. */
  public static List<String> prepare(String script, Map<String, String> properties, TreeMap<String, String> used) {
    List<String> out = new ArrayList<>();
    for (String statement : split(script)) out.add(substitute(statement, properties, used));
    return out;
  }
}
