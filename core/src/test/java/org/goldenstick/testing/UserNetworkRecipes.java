package org.goldenstick.testing;

import java.util.List;
import java.util.Random;
import org.goldenstick.graph.UserNetworks;
import org.goldenstick.nn.Module;
import org.goldenstick.tensor.Tensor;
import org.goldenstick.train.Inference;
import org.goldenstick.progress.ProgressListener;
import org.goldenstick.train.Recipes;

/**
 * The {@link UserNetworks} by name with a short digits recipe each, for tests that compress them.
 *
 * <pre>{@code
 * Module net = UserNetworkRecipes.build("residual");
 * Recipes.Spec spec = UserNetworkRecipes.recipe("residual");
 * }</pre>
 */
public final class UserNetworkRecipes {
    private UserNetworkRecipes() {}

    /** "residual", "separable-concat" or "mlp", seeded. */
    public static Module build(String name) {
        Random rng = new Random(1);
        return switch (name) {
            case "residual" -> new UserNetworks.ResidualNet(rng);
            case "separable-concat" -> new UserNetworks.SeparableConcatNet(rng);
            case "mlp" -> new UserNetworks.Mlp(rng);
            default -> throw new IllegalArgumentException("no user network '" + name + "'");
        };
    }

    /** A user network trained by its recipe on digits, with the data and the whole test split's inputs. */
    public record Trained(Module net, Recipes.Spec spec, Recipes.Data data, double fp32Accuracy, Tensor testInputs) {}

    /** Builds and trains the network {@code name} on digits. */
    public static Trained trained(String name) {
        Recipes.Spec spec = recipe(name);
        Recipes.Data data = Recipes.data(spec);
        Module net = build(name);
        double acc = Recipes.train(spec, net, data, List.of(), ProgressListener.SILENT).testAccuracy();
        return new Trained(net, spec, data, acc, Inference.wholeTestSet(spec, data).inputs());
    }

    /** A short digits recipe; the separable net (sigmoid before the pooling: small gradients) needs more epochs. */
    public static Recipes.Spec recipe(String name) {
        Recipes.Spec spec = Recipes.Spec.defaults("lenet", "digits").withEpochs(6);
        return name.equals("separable-concat") ? spec.withEpochs(16) : spec;
    }
}
