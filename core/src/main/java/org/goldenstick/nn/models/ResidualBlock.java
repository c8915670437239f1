package org.goldenstick.nn.models;

import java.util.List;

/**
 * A block whose output is {@code main(x) + shortcut(x)}: the addition forces the main branch's last layer and
 * the shortcut to produce the same channels, so channel pruning must remove them together. Paths are relative
 * to the block.
 *
 * <pre>{@code
 * if (module instanceof ResidualBlock rb && rb.identityShortcut()) {
 *     // the block's output channels are also its input channels
 * }
 * }</pre>
 */
public interface ResidualBlock {
    /** The convolutions whose output channels the addition ties: the main branch's last conv, and the projection conv if any. */
    List<String> tiedConvolutions();

    /** The normalisation layers right after {@link #tiedConvolutions()}, in the same order. */
    List<String> tiedNorms();

    /** True when the shortcut is the identity, so the output channels are tied to the block's input channels too. */
    boolean identityShortcut();
}
