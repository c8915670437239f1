package org.goldenstick.cli;

import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;

/**
 * The process's standard error as the launcher hands it over. {@code ./gstick} starts the JVM with fd 2 going through
 * a filter (which drops the JVM's "Using incubator modules" notice) and the user's stderr on the fd named by
 * {@code -Dgstick.stderr.fd}; {@link #restore()} points fd 2 back at it through libc's {@code dup2}, so everything
 * after the boot, Java or native, reaches the terminal unfiltered and undelayed.
 */
final class Stderr {
    private static final Linker LINKER = Linker.nativeLinker();

    private Stderr() {}

    /** Points fd 2 at the launcher's saved stderr, if it handed one over; returns false when it could not. */
    static boolean restore() {
        String fd = System.getProperty("gstick.stderr.fd");
        if (fd == null) return true;
        try {
            int saved = Integer.parseInt(fd);
            System.err.flush();
            int r = (int) libc("dup2", FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT)).invokeExact(saved, 2);
            if (r < 0) return false;
            int c = (int) libc("close", FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT)).invokeExact(saved);
            return c == 0;
        } catch (Throwable t) {
            return false; // stderr keeps going through the launcher's line filter: nothing is lost
        }
    }

    /** Whether stderr is an interactive terminal (where a progress bar may redraw its line). */
    static boolean isTerminal() {
        try {
            return (int) libc("isatty", FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT)).invokeExact(2) == 1;
        } catch (Throwable t) {
            var console = System.console();
            return console != null && console.isTerminal();
        }
    }

    private static MethodHandle libc(String name, FunctionDescriptor fd) {
        return LINKER.downcallHandle(LINKER.defaultLookup().find(name).orElseThrow(), fd);
    }
}
