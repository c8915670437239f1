package org.goldenstick.ptq;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.stream.Stream;
import org.goldenstick.formats.AtomicFiles;
import org.goldenstick.formats.safetensors.DType;
import org.goldenstick.formats.safetensors.SafetensorsFile;
import org.goldenstick.formats.safetensors.SafetensorsWriter;

/**
 * The finished units of an interrupted {@code quantize} run, kept so that {@code quantize --resume} continues where it
 * stopped: RTN keeps each quantized layer, SmoothQuant its calibration statistics after each sample. The state lives
 * in a hidden folder next to the output ({@code .OUT.gstick-resume}), every unit written atomically, and carries a
 * key (input files, recipe, calibration settings) so that it is only ever used for the same run. Units are exact
 * (int8 codes, scales, running maxima), so a resumed run writes the same bytes as an uninterrupted one. The folder is
 * removed when the output is complete.
 *
 * <pre>{@code
 * Quantizer.quantize(model, out, PTQConfig.rtn(), null, 0, 0, null, ResumeState.Mode.CONTINUE);   // gstick quantize --resume
 * // inside the algorithms:
 * ResumeState state = ResumeState.open(out, key, ResumeState.Mode.CONTINUE);
 * Map<String, float[]> f = state.load("layer-3");     // null if that unit was not finished
 * state.save("layer-3", floats, bytes);
 * state.finish();
 * }</pre>
 */
public final class ResumeState {
    /** Whether a run keeps resume state and whether it uses what an earlier run kept. */
    public enum Mode {
        /** Keep nothing (library default). */
        OFF,
        /** Keep state, but start fresh (an earlier run's state is discarded). */
        SAVE,
        /** Keep state and continue from what an earlier run of the same key finished. */
        CONTINUE
    }

    private static final String KEY = "gstick.resume_key";
    private final Path dir;
    private final String key;
    private final Mode mode;

    private ResumeState(Path dir, String key, Mode mode) {
        this.dir = dir;
        this.key = key;
        this.mode = mode;
    }

    /** The state folder of output {@code out}. */
    static Path folderOf(Path out) {
        Path abs = out.toAbsolutePath().normalize();
        return abs.resolveSibling("." + abs.getFileName() + ".gstick-resume");
    }

    /**
     * Opens the state of {@code out}: with {@link Mode#CONTINUE} an existing state must have the same key (else the
     * error says so); with {@link Mode#SAVE} an existing state is discarded.
     */
    static ResumeState open(Path out, String key, Mode mode) throws IOException {
        Path dir = folderOf(out);
        if (mode == Mode.OFF) return new ResumeState(dir, key, mode);
        if (mode == Mode.CONTINUE && Files.isDirectory(dir)) {
            Path keyFile = dir.resolve("key.txt");
            String old = Files.isRegularFile(keyFile) ? Files.readString(keyFile) : "";
            if (!old.equals(key)) {
                throw new IllegalArgumentException(dir + ": the saved progress belongs to a different input, recipe or calibration setting; "
                        + "run without --resume to start over");
            }
        } else {
            AtomicFiles.deleteQuietly(dir);
            Files.createDirectories(dir);
            AtomicFiles.writeString(dir.resolve("key.txt"), key);
        }
        return new ResumeState(dir, key, mode);
    }

    /** A key naming what a run reads and how: the files of the model folder and calibration input (name, size, time), and the settings. */
    static String key(Path model, Path calib, String settings) throws IOException {
        StringBuilder k = new StringBuilder(settings).append('\n');
        for (Path root : calib == null ? java.util.List.of(model) : java.util.List.of(model, calib)) {
            java.util.List<Path> files;
            if (Files.isDirectory(root)) {
                try (Stream<Path> s = Files.list(root)) {
                    files = s.filter(Files::isRegularFile).sorted().toList();
                }
            } else {
                files = java.util.List.of(root);
            }
            for (Path f : files) {
                k.append(f.toAbsolutePath().normalize()).append(' ').append(Files.size(f)).append(' ').append(Files.getLastModifiedTime(f).toMillis()).append('\n');
            }
        }
        return k.toString();
    }

    /** Whether finished units are kept (a resumable run). */
    boolean saving() {
        return mode != Mode.OFF;
    }

    boolean continuing() {
        return mode == Mode.CONTINUE;
    }

    /** The tensors of a finished unit, or null when it was not finished (or the run is not continuing). */
    Map<String, Object> load(String unit) {
        if (mode != Mode.CONTINUE) return null;
        Path f = dir.resolve(unit + ".safetensors");
        if (!Files.isRegularFile(f)) return null;
        try (SafetensorsFile sf = SafetensorsFile.open(f)) {
            if (!key.equals(sf.metadata().get(KEY))) return null;
            Map<String, Object> out = new java.util.LinkedHashMap<>();
            for (var e : sf.entries()) out.put(e.name(), e.dtype() == DType.I8 ? sf.int8(e.name()) : e.dtype() == DType.I64 ? sf.int64(e.name()) : sf.floats(e.name()));
            return out;
        } catch (IOException e) {
            return null; // a damaged unit is simply done again
        }
    }

    /** Records a finished unit: float arrays, int8 arrays ({@code byte[]}) and counters ({@code long[]}). */
    void save(String unit, Map<String, Object> tensors) {
        if (mode == Mode.OFF) return;
        SafetensorsWriter w = new SafetensorsWriter().metadata(KEY, key);
        for (var e : tensors.entrySet()) {
            switch (e.getValue()) {
                case float[] f -> w.addFloats(e.getKey(), f, DType.F32, f.length);
                case byte[] b -> w.addInt8(e.getKey(), b, b.length);
                case long[] l -> w.addInt64(e.getKey(), l, new int[] {l.length});
                default -> throw new IllegalArgumentException("resume unit " + unit + ": unsupported value for " + e.getKey());
            }
        }
        try {
            w.write(dir.resolve(unit + ".safetensors"));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot save quantize progress in " + dir, e);
        }
    }

    /** Number of finished units kept (for reports and tests). */
    int units() {
        if (!Files.isDirectory(dir)) return 0;
        try (Stream<Path> s = Files.list(dir)) {
            return (int) s.filter(p -> p.getFileName().toString().endsWith(".safetensors")).count();
        } catch (IOException e) {
            return 0;
        }
    }

    /** The output is complete: the state is no longer needed. */
    void finish() {
        if (mode != Mode.OFF) AtomicFiles.deleteQuietly(dir);
    }
}
