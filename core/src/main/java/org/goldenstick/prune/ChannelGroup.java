package org.goldenstick.prune;

import java.util.List;

/**
 * A set of output channels that must be kept or removed together: every {@link Member} produces these channels
 * (several members when residual additions tie their outputs), and every {@link Consumer} reads them. Channel-wise
 * layers in between (BatchNorm, depthwise convolutions) are sliced with the group too ({@link ChannelGraph.Result#layers()}).
 *
 * <pre>{@code
 * for (ChannelGroup g : ChannelGraph.analyze(net).groups()) System.out.println(g.channels() + " " + g.members());
 * }</pre>
 *
 * @param channels  number of channels in the group
 * @param members   the layers producing the channels (ungrouped Conv2d, or Linear for features), each with the BatchNorm
 *                  right after it (or null)
 * @param consumers the layers reading the channels as input channels/features
 */
public record ChannelGroup(int channels, List<Member> members, List<Consumer> consumers) {
    public ChannelGroup {
        members = List.copyOf(members);
        consumers = List.copyOf(consumers);
    }

    /** A producing layer ({@code conv}: the path of a Conv2d or Linear) and the BatchNorm2d right after it ({@code norm} path, or null). */
    public record Member(String conv, String norm) {}

    /**
     * A reader of the group's channels: a Conv2d ({@code unit} 1) or a Linear after a flatten, where each channel
     * spans {@code unit} consecutive input features.
     */
    public record Consumer(String path, int unit) {}

    /** Paths of the producing layers. */
    public List<String> convPaths() {
        return members.stream().map(Member::conv).toList();
    }
}
