using GanEngine.Nn;
using GanEngine.Ops;
using GanEngine.Tensors;
using GanEngine.Training.Modules;

namespace GanEngine.Training.Models;

// The ResNet GAN of Miyato et al. (2018, "Spectral normalization for GANs"), CIFAR layout, the backbone of
// RG-GAN, STU-GAN and alphaGAN: G = linear to 4x4 -> up-blocks (BN, ReLU, nearest x2, 3x3 convs,
// 1x1 shortcut) -> BN, ReLU, 3x3 conv, tanh; D = optimized first block -> down-blocks -> two plain blocks
// -> ReLU -> global sum pool -> linear, every D weight spectrally normalised. Xavier-uniform init
// (gain sqrt 2 in the blocks, 1 for shortcuts and ends), biases zero.

/// <summary>SNGAN generator residual block with nearest-neighbour x2 upsampling.</summary>
public sealed class ResNetUpBlock : Module
{
    public ResNetUpBlock(InitContext init, int inChannels, int outChannels)
    {
        Norm1 = new BatchNorm2dLayer(init, inChannels);
        Conv1 = new Conv2dLayer(init, inChannels, outChannels, 3, 1, 1, bias: true, WeightInit.XavierUniformRelu);
        Norm2 = new BatchNorm2dLayer(init, outChannels);
        Conv2 = new Conv2dLayer(init, outChannels, outChannels, 3, 1, 1, bias: true, WeightInit.XavierUniformRelu);
        Shortcut = new Conv2dLayer(init, inChannels, outChannels, 1, 1, 0, bias: true, WeightInit.XavierUniform);
    }

    public BatchNorm2dLayer Norm1 { get; }
    public Conv2dLayer Conv1 { get; }
    public BatchNorm2dLayer Norm2 { get; }
    public Conv2dLayer Conv2 { get; }
    public Conv2dLayer Shortcut { get; }

    protected override IEnumerable<(string Name, Module Child)> Children =>
        [("bn1", Norm1), ("conv1", Conv1), ("bn2", Norm2), ("conv2", Conv2), ("shortcut", Shortcut)];

    public Tensor Forward(Tensor x)
    {
        using var r1 = Norm1.Forward(x, FusedActivation.Relu);
        using var u = Functional.UpsampleNearest2d(r1, 2);
        using var c1 = Conv1.Forward(u);
        using var r2 = Norm2.Forward(c1, FusedActivation.Relu);
        using var c2 = Conv2.Forward(r2);
        using var us = Functional.UpsampleNearest2d(x, 2);
        using var s = Shortcut.Forward(us);
        return c2 + s;
    }
}

/// <summary>SNGAN discriminator residual block: ReLU, 3x3 conv, ReLU, 3x3 conv, optional 2x2 average pool;
/// the first block of D (<c>first</c>) has no leading ReLU and pools before its shortcut conv.</summary>
public sealed class ResNetDownBlock : Module
{
    public ResNetDownBlock(InitContext init, int inChannels, int outChannels, bool downsample, bool first)
    {
        Downsample = downsample;
        First = first;
        Conv1 = new Conv2dLayer(init, inChannels, outChannels, 3, 1, 1, bias: true, WeightInit.XavierUniformRelu, spectralNorm: true);
        Conv2 = new Conv2dLayer(init, outChannels, outChannels, 3, 1, 1, bias: true, WeightInit.XavierUniformRelu, spectralNorm: true);
        if (first || downsample || inChannels != outChannels)
        {
            Shortcut = new Conv2dLayer(init, inChannels, outChannels, 1, 1, 0, bias: true, WeightInit.XavierUniform, spectralNorm: true);
        }
    }

    public bool Downsample { get; }
    public bool First { get; }
    public Conv2dLayer Conv1 { get; }
    public Conv2dLayer Conv2 { get; }

    /// <summary>The learnable 1x1 shortcut, or null for the identity.</summary>
    public Conv2dLayer? Shortcut { get; }

    protected override IEnumerable<(string Name, Module Child)> Children =>
        Shortcut is null ? [("conv1", Conv1), ("conv2", Conv2)] : [("conv1", Conv1), ("conv2", Conv2), ("shortcut", Shortcut)];

    public Tensor Forward(Tensor x)
    {
        using var r0 = First ? null : x.Relu();
        using var c1 = Conv1.Forward(r0 ?? x);
        using var r1 = c1.Relu();
        using var c2 = Conv2.Forward(r1);
        using var main = Downsample ? Functional.AvgPool2d(c2, 2) : null;
        using var skip = ShortcutForward(x);
        return (main ?? c2) + (skip ?? x);
    }

    private Tensor? ShortcutForward(Tensor x)
    {
        if (Shortcut is null)
        {
            return null;
        }
        if (First)
        {
            using var p = Functional.AvgPool2d(x, 2);
            return Shortcut.Forward(p);
        }
        if (!Downsample)
        {
            return Shortcut.Forward(x);
        }
        using var s = Shortcut.Forward(x);
        return Functional.AvgPool2d(s, 2);
    }
}

/// <summary>SNGAN ResNet generator (resolutions 8, 16, 32, 64: one up-block per doubling from 4x4).</summary>
public sealed class ResNetGenerator : Generator
{
    private readonly ResNetUpBlock[] _blocks;

    public ResNetGenerator(InitContext init, int latent, int channels, int resolution, int width)
    {
        ArgumentNullException.ThrowIfNull(init);
        if (resolution is not (8 or 16 or 32 or 64))
        {
            throw new ArgumentException($"The SNGAN ResNet supports resolutions 8, 16, 32 and 64 (got {resolution}).");
        }
        Latent = latent;
        Channels = channels;
        Resolution = resolution;
        Width = width;
        Input = new LinearLayer(init, latent, 4 * 4 * width, bias: true, WeightInit.XavierUniform);
        _blocks = [.. Enumerable.Range(0, (int)Math.Log2(resolution / 4)).Select(_ => new ResNetUpBlock(init, width, width))];
        OutputNorm = new BatchNorm2dLayer(init, width);
        Output = new Conv2dLayer(init, width, channels, 3, 1, 1, bias: true, WeightInit.XavierUniform);
    }

    public override int Latent { get; }
    public override int Channels { get; }
    public override int Resolution { get; }
    public int Width { get; }
    public LinearLayer Input { get; }
    public IReadOnlyList<ResNetUpBlock> Blocks => _blocks;
    public BatchNorm2dLayer OutputNorm { get; }
    public Conv2dLayer Output { get; }

    protected override IEnumerable<(string Name, Module Child)> Children =>
        new (string, Module)[] { ("input", Input) }
            .Concat(_blocks.Select((b, i) => ($"block{i}", (Module)b)))
            .Concat([("bn", OutputNorm), ("output", Output)]);

    public override Tensor Forward(Tensor z)
    {
        ArgumentNullException.ThrowIfNull(z);
        using var h = Input.Forward(z);
        var x = h.Reshape(z.Size(0), Width, 4, 4);
        foreach (var block in _blocks)
        {
            var next = block.Forward(x);
            x.Dispose();
            x = next;
        }
        using (x)
        {
            using var r = OutputNorm.Forward(x, FusedActivation.Relu);
            using var o = Output.Forward(r);
            return o.Tanh();
        }
    }
}

/// <summary>SNGAN ResNet discriminator: optimized block, down-blocks to 8x8, two plain blocks, ReLU, sum pool,
/// linear; all weights spectrally normalised.</summary>
public sealed class ResNetDiscriminator : Discriminator
{
    private readonly ResNetDownBlock[] _blocks;

    public ResNetDiscriminator(InitContext init, int channels, int resolution, int width)
    {
        ArgumentNullException.ThrowIfNull(init);
        if (resolution is not (8 or 16 or 32 or 64))
        {
            throw new ArgumentException($"The SNGAN ResNet supports resolutions 8, 16, 32 and 64 (got {resolution}).");
        }
        var blocks = new List<ResNetDownBlock> { new(init, channels, width, downsample: true, first: true) };
        for (int side = resolution / 2; side > 8; side /= 2)
        {
            blocks.Add(new ResNetDownBlock(init, width, width, downsample: true, first: false));
        }
        blocks.Add(new ResNetDownBlock(init, width, width, downsample: false, first: false));
        blocks.Add(new ResNetDownBlock(init, width, width, downsample: false, first: false));
        _blocks = [.. blocks];
        Output = new LinearLayer(init, width, 1, bias: true, WeightInit.XavierUniform, spectralNorm: true);
    }

    public IReadOnlyList<ResNetDownBlock> Blocks => _blocks;
    public LinearLayer Output { get; }

    protected override IEnumerable<(string Name, Module Child)> Children =>
        _blocks.Select((b, i) => ($"block{i}", (Module)b)).Concat([("output", (Module)Output)]);

    public override Tensor Forward(Tensor images)
    {
        ArgumentNullException.ThrowIfNull(images);
        Tensor x = images;
        Tensor? owned = null;
        foreach (var block in _blocks)
        {
            var next = block.Forward(x);
            owned?.Dispose();
            x = owned = next;
        }
        using (owned)
        {
            using var r = x.Relu();
            using var pooled = r.Sum([2, 3]);
            using var o = Output.Forward(pooled);
            return o.Reshape(o.Size(0));
        }
    }
}
