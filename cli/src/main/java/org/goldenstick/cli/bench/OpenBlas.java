package org.goldenstick.cli.bench;

import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.Loader;
import org.bytedeco.openblas.global.openblas;

import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.util.Optional;

/** The OpenBLAS baseline (org.bytedeco presets), used by benchmarks only. */
final class OpenBlas {
    private static MethodHandle setThreads;
    private static boolean loaded;

    private OpenBlas() {}

    static synchronized void load() {
        if (loaded) return;
        Loader.load(openblas.class);
        // The preset exposes no thread setter; the C symbol is in the library JavaCPP just loaded.
        Optional<java.lang.foreign.MemorySegment> sym = SymbolLookup.loaderLookup().find("openblas_set_num_threads");
        if (sym.isEmpty()) sym = Linker.nativeLinker().defaultLookup().find("openblas_set_num_threads");
        setThreads = sym.map(s -> Linker.nativeLinker().downcallHandle(s, FunctionDescriptor.ofVoid(ValueLayout.JAVA_INT))).orElse(null);
        loaded = true;
    }

    /** Sets OpenBLAS's thread count; false when the symbol was not found (then OPENBLAS_NUM_THREADS rules). */
    static boolean setThreads(int n) {
        load();
        if (setThreads == null) return false;
        try {
            setThreads.invokeExact(n);
            return true;
        } catch (Throwable t) {
            throw new IllegalStateException("openblas_set_num_threads failed", t);
        }
    }

    /** Row-major C = A·B for square n×n matrices in native memory. */
    static void sgemm(int n, FloatPointer a, FloatPointer b, FloatPointer c) {
        openblas.cblas_sgemm(openblas.CblasRowMajor, openblas.CblasNoTrans, openblas.CblasNoTrans, n, n, n,
                1f, a, n, b, n, 0f, c, n);
    }
}
