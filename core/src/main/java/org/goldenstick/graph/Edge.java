package org.goldenstick.graph;

/**
 * A tensor flowing from node {@code from} into argument {@code index} of node {@code to}, with its shape.
 */
public record Edge(int from, int to, int index, int[] shape) {
    public Edge {
        shape = shape.clone();
    }

    @Override
    public int[] shape() {
        return shape.clone();
    }
}
