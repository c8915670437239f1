package org.goldenstick.cli;

import java.io.IOException;
import java.nio.file.Path;
import org.goldenstick.cli.report.HtmlReport;
import org.goldenstick.formats.AtomicFiles;
import picocli.CommandLine.Option;

/**
 * The {@code --report DIR} option shared by train, qat, prune, ptq, quantize and sensitivity (a picocli mixin): an HTML page with PNG
 * charts ({@link HtmlReport}) written to a new folder. The folder is checked before any work starts.
 *
 * <pre>{@code
 * @Mixin ReportOption report;
 * report.check();                       // first thing in call()
 * if (report.wanted()) report.write(page);
 * }</pre>
 */
public final class ReportOption {
    @Option(names = "--report", paramLabel = "DIR", description = "write an HTML report with charts (index.html + PNGs) to this new folder")
    Path dir;

    /** Whether a report was asked for. */
    public boolean wanted() {
        return dir != null;
    }

    /** Fails now (before training) if the report folder already exists. */
    public void check() {
        if (dir != null) AtomicFiles.checkFolderTarget(dir, AtomicFiles.Existing.FAIL, "--report");
    }

    /** Writes the page and says where (on stderr, so {@code --json} stdout stays one object). */
    public void write(HtmlReport page) throws IOException {
        Path index = page.write(dir);
        System.err.println("report written to " + index);
    }
}
