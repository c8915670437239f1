package org.goldenstick.nn.models;

import java.util.Random;
import org.goldenstick.nn.Conv2d;
import org.goldenstick.nn.Flatten;
import org.goldenstick.nn.Init;
import org.goldenstick.nn.Linear;
import org.goldenstick.nn.MaxPool2d;
import org.goldenstick.nn.Module;
import org.goldenstick.nn.ReLU;
import org.goldenstick.tensor.Tensor;

/**
 * LeNet-5: two 5×5 convolutions (6 and 16 channels) each followed by ReLU and 2×2 max pooling, then three
 * fully connected layers (120, 84, classes). Children in order: {@code conv1, relu1, pool1, conv2, relu2,
 * pool2, flatten, fc1, relu3, fc2, relu4, fc3}.
 *
 * <p>{@code conv1} pads by 2 (as for 28×28 MNIST in most re-implementations); {@code conv2} also pads by 2
 * when the feature map after the first pooling is smaller than 10×10 (so 8×8 digits work: 8→4→4→2).
 *
 * <pre>{@code
 * var digits = new LeNet5(1, 8, 10, new Random(0));     // fc1 input 16·2·2
 * var fashion = new LeNet5(1, 28, 10, new Random(0));   // fc1 input 16·5·5
 * }</pre>
 */
public class LeNet5 extends Module {
    private final int inChannels, inputSize, numClasses;

    public LeNet5(int inChannels, int inputSize, int numClasses, Random rng) {
        if (inputSize < 4) throw new IllegalArgumentException("LeNet5: input size must be at least 4, got " + inputSize);
        this.inChannels = inChannels;
        this.inputSize = inputSize;
        this.numClasses = numClasses;
        Conv2d conv1 = registerChild("conv1", new Conv2d(inChannels, 6, 5, 1, 2, rng));
        registerChild("relu1", new ReLU());
        registerChild("pool1", new MaxPool2d(2));
        int s = conv1.outputSize(inputSize, inputSize)[0] / 2;
        Conv2d conv2 = registerChild("conv2", new Conv2d(6, 16, 5, 1, s < 10 ? 2 : 0, rng));
        registerChild("relu2", new ReLU());
        registerChild("pool2", new MaxPool2d(2));
        s = conv2.outputSize(s, s)[0] / 2;
        if (s < 1) throw new IllegalArgumentException("LeNet5: input size " + inputSize + " is too small");
        registerChild("flatten", new Flatten());
        registerChild("fc1", new Linear(16 * s * s, 120, rng));
        registerChild("relu3", new ReLU());
        registerChild("fc2", new Linear(120, 84, rng));
        registerChild("relu4", new ReLU());
        registerChild("fc3", new Linear(84, numClasses, rng));
        // He initialisation for the layers followed by ReLU: with PyTorch's default (a = √5) the signal
        // shrinks through the five layers and small data sets sit on a loss plateau for epochs.
        for (String name : new String[] {"conv1", "conv2", "fc1", "fc2"}) Init.kaimingUniform(module(name).parameter("weight"), 0, Init.Fan.IN, rng);
    }

    public int inChannels() { return inChannels; }
    public int inputSize() { return inputSize; }
    public int numClasses() { return numClasses; }

    @Override
    public int[] exampleInputShape() {
        return new int[] {inChannels, inputSize, inputSize};
    }

    @Override
    public Tensor forward(Tensor x) {
        for (Module m : children().values()) x = m.forward(x);
        return x;
    }

    @Override
    public String describe() {
        return "LeNet5(in=" + inChannels + ", size=" + inputSize + ", classes=" + numClasses + ")";
    }
}
