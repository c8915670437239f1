package org.goldenstick.prune;

/** A convolution whose output channels are not pruned, and why (for example "feeds the network output"). */
public record SkippedLayer(String path, String reason) {
    @Override
    public String toString() {
        return path + ": " + reason;
    }
}
