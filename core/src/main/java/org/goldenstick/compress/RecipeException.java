package org.goldenstick.compress;

/**
 * A recipe file that cannot be used: the message names the file, the field path inside it (e.g.
 * {@code quant_stage.quant_modifiers.SmoothQuantModifier.smoothing_strength}) and what is wrong.
 */
public final class RecipeException extends IllegalArgumentException {
    private final String source;
    private final String field;

    public RecipeException(String source, String field, String problem) {
        super(source + ": " + (field.isEmpty() ? "" : "'" + field + "': ") + problem);
        this.source = source;
        this.field = field;
    }

    public String source() {
        return source;
    }

    public String field() {
        return field;
    }
}
