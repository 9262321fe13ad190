package dev.sparkgpt.serve;

import com.sun.net.httpserver.HttpExchange;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.UUID;

/**
 * The server's log: one line per request (method, path, status, time, a note such as the token counts; never the
 * text) and one per failure (its stack trace under an incident id), every field with control characters escaped,
 * so that a request cannot forge or split log lines.
 */
final class RequestLog {
  private final PrintStream out;

  RequestLog(PrintStream out) {
    this.out = out;
  }

  void line(HttpExchange ex, int status, long start, String note) {
    out.printf("serve: %s %s %d %.0f ms%s%n", printable(ex.getRequestMethod()), printable(ex.getRequestURI()
        .getPath()), status, (System.nanoTime() - start) / 1e6, note.isEmpty() ? "" : " " + printable(note));
  }

  /** Logs a failure with its stack trace under a fresh incident id and returns the 500 that names only the id. */
  ApiError incident(Throwable e) {
    String incident = UUID.randomUUID().toString().substring(0, 8);
    StringWriter trace = new StringWriter();
    e.printStackTrace(new PrintWriter(trace));
    out.println("serve: incident " + incident + ": " + printable(trace.toString().strip()));
    return ApiError.internal(incident);
  }

  /** {@code s} with control characters escaped. */
  static String printable(String s) {
    StringBuilder escaped = new StringBuilder(s.length());
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (c == '\n') {
        escaped.append("\\n");
      } else if (c < 0x20 || c == 0x7f || (c >= 0x80 && c < 0xa0) || c == '\u2028' || c == '\u2029') {
        escaped.append(String.format("\\u%04x", (int) c));
      } else {
        escaped.append(c);
      }
    }
    return escaped.toString();
  }
}
