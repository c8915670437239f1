package org.goldenstick.train;

import org.goldenstick.progress.ProgressListener;
import org.goldenstick.progress.ProgressPrinter;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.goldenstick.nn.models.LeNet5;
import org.goldenstick.nn.models.ResNet;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;

class RecipesTest {
    @Test
    void leNetOnDigitsReaches97Percent() {
        Recipes.Spec spec = Recipes.Spec.defaults("lenet", "digits");
        Recipes.Data data = Recipes.data(spec);
        assertEquals(1797, data.train().size() + data.test().size());
        assertEquals(359, data.test().size(), "seeded 80/20 split");
        Recipes.Outcome o = Recipes.train(spec, Recipes.newModel(spec, data), data, List.of(), ProgressListener.SILENT);
        assertTrue(o.testAccuracy() >= 0.97, "LeNet on digits test accuracy " + o.testAccuracy());
        assertEquals(359, o.test().count());
        assertTrue(o.training().epochLosses().getLast() < o.training().epochLosses().getFirst());
    }

    @Test
    void specsValidateAndBuildTheNamedModels() {
        assertThrows(IllegalArgumentException.class, () -> Recipes.Spec.defaults("vgg", "digits"));
        assertThrows(IllegalArgumentException.class, () -> Recipes.Spec.defaults("lenet", "cifar"));
        Recipes.Spec spec = Recipes.Spec.defaults("resnet8", "digits").withLimitTrain(100).withWidth(4);
        Recipes.Data data = Recipes.data(spec);
        assertEquals(100, data.train().size());
        assertTrue(Recipes.newModel(spec, data) instanceof ResNet r && r.depth() == 8 && r.width() == 4);
        assertTrue(Recipes.newModel(Recipes.Spec.defaults("lenet", "digits"), data) instanceof LeNet5 l && l.inputSize() == 8);
        // Warm-up to 0.1·lr, then cosine from the full rate.
        LrSchedule s = Recipes.schedule(spec);
        assertEquals(0.1 * spec.lr(), s.lr(spec.lr(), 0, 10), 1e-12);
        assertEquals(spec.lr(), s.lr(spec.lr(), 10, 10), 1e-12);
    }

    @Test
    @EnabledIfSystemProperty(named = "gstick.test.tier", matches = "accuracy")
    void leNetOnFashionMnistReaches89Percent() {
        Recipes.Outcome o = Recipes.run(Recipes.Spec.defaults("lenet", "fashion-mnist"), ProgressPrinter.auto());
        assertTrue(o.testAccuracy() >= 0.89, "LeNet on Fashion-MNIST test accuracy " + o.testAccuracy());
    }

    @Test
    @EnabledIfSystemProperty(named = "gstick.test.tier", matches = "accuracy")
    void resnet20OnFashionMnistReaches91Percent() {
        Recipes.Outcome o = Recipes.run(Recipes.Spec.defaults("resnet20", "fashion-mnist"), ProgressPrinter.auto());
        assertTrue(o.testAccuracy() >= 0.91, "ResNet-20 on Fashion-MNIST test accuracy " + o.testAccuracy());
    }
}
