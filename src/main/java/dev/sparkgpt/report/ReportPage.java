package dev.sparkgpt.report;

import java.util.List;

/**
 * report.html: one self-contained page (inline style, no scripts, nothing fetched) with the run's summary table, the
 * warnings from loading, and the chart PNGs beside it by relative path, so the directory can be copied or served
 * as it is.
 */
final class ReportPage {
  private static final String STYLE = """
      body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 860px; color: #222; }
      h1 { font-size: 1.6em; margin-bottom: 0.2em; }
      p.meta { color: #555; margin-top: 0; }
      table.summary { border-collapse: collapse; margin: 1em 0; }
      table.summary th, table.summary td { padding: 0.25em 0.8em; border-bottom: 1px solid #ddd; text-align: left; }
      table.summary td { font-variant-numeric: tabular-nums; }
      ul.warnings li { color: #8a4b00; }
      figure { margin: 1.5em 0; }
      figure img { max-width: 100%; height: auto; border: 1px solid #eee; }
      figcaption { color: #555; font-size: 0.9em; }
      """;

  private ReportPage() {}

  static String render(String runDir, Summary summary, List<ReportCharts.NamedChart> charts, List<String> warnings,
      String createdAt) {
    StringBuilder html = new StringBuilder();
    html.append("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>SparkGPT report: ")
        .append(escape(runDir)).append("</title>\n<style>\n").append(STYLE).append("</style>\n</head>\n<body>\n");
    html.append("<h1>SparkGPT run report</h1>\n<p class=\"meta\">Run directory <code>").append(escape(runDir))
        .append("</code> · made ").append(escape(createdAt)).append("</p>\n");
    html.append("<h2>Summary</h2>\n<table class=\"summary\">\n");
    for (Summary.Row row : summary.rows()) {
      html.append("<tr><th>").append(escape(row.label())).append("</th><td>").append(escape(row.value()))
          .append("</td></tr>\n");
    }
    html.append("</table>\n");
    if (!warnings.isEmpty()) {
      html.append("<h2>Warnings</h2>\n<ul class=\"warnings\">\n");
      warnings.forEach(w -> html.append("<li>").append(escape(w)).append("</li>\n"));
      html.append("</ul>\n");
    }
    if (!charts.isEmpty()) {
      html.append("<h2>Charts</h2>\n");
    }
    for (ReportCharts.NamedChart chart : charts) {
      html.append("<figure><img src=\"").append(escape(chart.fileName())).append("\" alt=\"")
          .append(escape(chart.title())).append("\" width=\"").append(ReportCharts.WIDTH).append("\" height=\"")
          .append(ReportCharts.HEIGHT).append("\"><figcaption>").append(escape(chart.title()))
          .append("</figcaption></figure>\n");
    }
    html.append("</body>\n</html>\n");
    return html.toString();
  }

  static String escape(String text) {
    StringBuilder out = new StringBuilder(text.length());
    for (char c : text.toCharArray()) {
      switch (c) {
        case '&' -> out.append("&amp;");
        case '<' -> out.append("&lt;");
        case '>' -> out.append("&gt;");
        case '"' -> out.append("&quot;");
        case '\'' -> out.append("&#39;");
        default -> out.append(c);
      }
    }
    return out.toString();
  }
}
