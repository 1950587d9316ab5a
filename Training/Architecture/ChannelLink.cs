using GanEngine.Training.Modules;

namespace GanEngine.Training.Architecture;

/// <summary>
/// A width that can change while training: the output channels of <see cref="Producer"/>, the BatchNorm
/// over them (if any), and the matching input channels of <see cref="Consumer"/>. Growing or pruning the
/// link resizes all three together, so the network stays consistent.
/// </summary>
public sealed record ChannelLink(string Name, WeightLayer Producer, BatchNorm2dLayer? Norm, WeightLayer Consumer)
{
    /// <summary>The current width.</summary>
    public int Width => Producer.OutputWidth;
}

/// <summary>A network whose hidden widths can be grown and pruned (the DCGAN family).</summary>
public interface IResizableNetwork
{
    /// <summary>The resizable widths, input side first.</summary>
    IReadOnlyList<ChannelLink> ChannelLinks { get; }

    /// <summary>Multiply-accumulates of one forward pass of one image at the current widths.</summary>
    long ForwardMacsPerImage();
}
