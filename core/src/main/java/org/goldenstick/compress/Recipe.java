package org.goldenstick.compress;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;

/**
 * A compression recipe: modifiers applied in order by {@link GoldenStick#compress}. Built in code, or read from a YAML
 * or JSON file in llm-compressor's shape ({@link RecipeReader}): stages holding {@code *_modifiers} groups that map a
 * modifier name to its arguments.
 *
 * <pre>{@code
 * Recipe r = Recipe.load(Path.of("recipe.yaml"));
 * Recipe same = Recipe.of(new SimQatModifier(SimQATConfig.defaults()));
 * }</pre>
 */
public record Recipe(List<Modifier> modifiers) {
    public Recipe {
        if (modifiers == null || modifiers.isEmpty()) throw new IllegalArgumentException("a recipe needs at least one modifier");
        modifiers = List.copyOf(modifiers);
    }

    public static Recipe of(Modifier... modifiers) {
        return new Recipe(List.of(modifiers));
    }

    /** Reads a recipe file: {@code .json} as JSON, anything else as YAML. Errors name the file and the field. */
    public static Recipe load(Path file) throws IOException {
        return RecipeReader.read(file);
    }

    /** Parses recipe text ({@code yaml} selects YAML, else JSON); {@code source} names it in errors. */
    public static Recipe parse(String text, boolean yaml, String source) {
        return RecipeReader.parse(text, yaml, source);
    }

    /** Whether every modifier is a post-training one (works on an LLM with calibration data, no training). */
    public boolean postTrainingOnly() {
        return modifiers.stream().noneMatch(Modifier::needsTraining);
    }
}
