package org.goldenstick.tensor;

import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** Without --add-modules jdk.incubator.vector, the first tensor says what is missing instead of failing deep in a kernel. */
class VectorModuleMissingTest {
    /** Run in a child JVM without the module: makes a tensor and multiplies it. */
    public static void main(String[] args) {
        Tensor a = Tensor.of(new float[] {1, 2, 3, 4}, 2, 2);
        System.out.println(a.matmul(a).data()[0]);
    }

    @Test
    void missingVectorModuleGivesAClearMessageAtFirstUse() throws Exception {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Process p = new ProcessBuilder(List.of(java, "-cp", System.getProperty("java.class.path"), VectorModuleMissingTest.class.getName()))
                .redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(60, TimeUnit.SECONDS));
        assertNotEquals(0, p.exitValue(), out);
        assertTrue(out.contains("needs the Vector API: start java with --add-modules jdk.incubator.vector"), out);
        assertTrue(!out.contains("NoClassDefFoundError: jdk/incubator/vector"), "the deep error is gone: " + out);
    }
}
