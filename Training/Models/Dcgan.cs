using GanEngine.Ops;
using GanEngine.Tensors;
using GanEngine.Training.Architecture;
using GanEngine.Training.Modules;

namespace GanEngine.Training.Models;

/// <summary>
/// The DCGAN layout (Radford et al. 2016) for a square resolution: the generator starts from a 4x4 map
/// (7x7 for 28) and doubles it with stride-2 4x4 transposed convolutions; widths halve towards the
/// image, ending at <c>width</c> before the output layer. With resolution 32, latent 128 and width 128
/// this is the DCGAN-32 of the PyTorch peer: z -> 512 (4x4) -> 256 -> 128 -> C (32x32).
/// </summary>
public static class DcganLayout
{
    /// <summary>Side of the first feature map and the kernel that makes it from the 1x1 latent.</summary>
    public static int StartSize(int resolution) => resolution == 28 ? 7 : 4;

    /// <summary>Hidden stages (feature maps before the image): log2(resolution / start).</summary>
    public static int Stages(int resolution)
    {
        int start = StartSize(resolution);
        if (resolution is not (8 or 16 or 28 or 32 or 64))
        {
            throw new ArgumentException($"DCGAN resolution must be 8, 16, 28, 32 or 64 (got {resolution}).");
        }
        return (int)Math.Round(Math.Log2(resolution / (double)start));
    }

    /// <summary>Width of hidden stage <paramref name="i"/> (0 = nearest the latent).</summary>
    public static int Width(int baseWidth, int stages, int i) => baseWidth << (stages - 1 - i);
}

/// <summary>DCGAN generator: transposed convs with BatchNorm + ReLU (one fused op), tanh output, no biases, N(0, 0.02) init.</summary>
public sealed class DcganGenerator : Generator, IResizableNetwork
{
    private readonly ConvTranspose2dLayer[] _convs;
    private readonly BatchNorm2dLayer[] _norms;

    public DcganGenerator(InitContext init, int latent, int channels, int resolution, int width)
    {
        ArgumentNullException.ThrowIfNull(init);
        Latent = latent;
        Channels = channels;
        Resolution = resolution;
        int stages = DcganLayout.Stages(resolution);
        int start = DcganLayout.StartSize(resolution);
        _convs = new ConvTranspose2dLayer[stages + 1];
        _norms = new BatchNorm2dLayer[stages];
        int inC = latent;
        for (int i = 0; i < stages; i++)
        {
            int outC = DcganLayout.Width(width, stages, i);
            _convs[i] = i == 0
                ? new ConvTranspose2dLayer(init, inC, outC, start, 1, 0, bias: false, WeightInit.DcganNormal)
                : new ConvTranspose2dLayer(init, inC, outC, 4, 2, 1, bias: false, WeightInit.DcganNormal);
            _norms[i] = new BatchNorm2dLayer(init, outC, dcganInit: true);
            inC = outC;
        }
        _convs[stages] = new ConvTranspose2dLayer(init, inC, channels, 4, 2, 1, bias: false, WeightInit.DcganNormal);
    }

    public override int Latent { get; }

    public override int Channels { get; }

    public override int Resolution { get; }

    /// <summary>The transposed convolutions, latent side first; the last makes the image.</summary>
    public IReadOnlyList<ConvTranspose2dLayer> Convs => _convs;

    /// <summary>The BatchNorm after each hidden convolution.</summary>
    public IReadOnlyList<BatchNorm2dLayer> Norms => _norms;

    /// <summary>The hidden widths: convolution i's output, its BatchNorm, convolution i + 1's input.</summary>
    public IReadOnlyList<ChannelLink> ChannelLinks =>
        [.. Enumerable.Range(0, _norms.Length).Select(i => new ChannelLink($"conv{i}", _convs[i], _norms[i], _convs[i + 1]))];

    public long ForwardMacsPerImage()
    {
        long macs = 0;
        int side = 1;
        for (int i = 0; i < _convs.Length; i++)
        {
            var c = _convs[i];
            macs += (long)c.InChannels * c.OutChannels * c.Kernel * c.Kernel * side * side;   // each input pixel scatters a k x k x out patch
            side = i == 0 ? DcganLayout.StartSize(Resolution) : side * 2;
        }
        return macs;
    }

    protected override IEnumerable<(string Name, Module Child)> Children =>
        _convs.Select((c, i) => ($"conv{i}", (Module)c)).Concat(_norms.Select((n, i) => ($"bn{i}", (Module)n)));

    public override Tensor Forward(Tensor z)
    {
        ArgumentNullException.ThrowIfNull(z);
        var x = z.Reshape(z.Size(0), Latent, 1, 1);
        for (int i = 0; i < _norms.Length; i++)
        {
            using var c = _convs[i].Forward(x);
            x.Dispose();
            x = _norms[i].Forward(c, FusedActivation.Relu);
        }
        using (x)
        {
            using var o = _convs[^1].Forward(x);
            return o.Tanh();
        }
    }
}

/// <summary>DCGAN discriminator: stride-2 4x4 convs with LeakyReLU(0.2), BatchNorm after all but the first
/// (optional; fused with the LeakyReLU), and a last convolution over the 4x4 (7x7) map to one logit; no biases.</summary>
public sealed class DcganDiscriminator : Discriminator, IResizableNetwork
{
    private const float Slope = 0.2f;

    private readonly Conv2dLayer[] _convs;
    private readonly BatchNorm2dLayer?[] _norms;
    private readonly int _resolution;

    public DcganDiscriminator(InitContext init, int channels, int resolution, int width, bool batchNorm)
    {
        ArgumentNullException.ThrowIfNull(init);
        int stages = DcganLayout.Stages(resolution);
        int start = DcganLayout.StartSize(resolution);
        _resolution = resolution;
        _convs = new Conv2dLayer[stages + 1];
        _norms = new BatchNorm2dLayer?[stages];
        int inC = channels;
        for (int j = 0; j < stages; j++)
        {
            int outC = width << j;
            _convs[j] = new Conv2dLayer(init, inC, outC, 4, 2, 1, bias: false, WeightInit.DcganNormal);
            _norms[j] = batchNorm && j > 0 ? new BatchNorm2dLayer(init, outC, dcganInit: true) : null;
            inC = outC;
        }
        _convs[stages] = new Conv2dLayer(init, inC, 1, start, 1, 0, bias: false, WeightInit.DcganNormal);
    }

    /// <summary>The convolutions, image side first; the last makes the logit.</summary>
    public IReadOnlyList<Conv2dLayer> Convs => _convs;

    /// <summary>The BatchNorm after each hidden convolution (null where there is none).</summary>
    public IReadOnlyList<BatchNorm2dLayer?> Norms => _norms;

    /// <summary>The hidden widths: convolution j's output, its BatchNorm (if any), convolution j + 1's input.</summary>
    public IReadOnlyList<ChannelLink> ChannelLinks =>
        [.. Enumerable.Range(0, _norms.Length).Select(j => new ChannelLink($"conv{j}", _convs[j], _norms[j], _convs[j + 1]))];

    public long ForwardMacsPerImage()
    {
        long macs = 0;
        int side = _resolution;
        for (int j = 0; j < _convs.Length; j++)
        {
            var c = _convs[j];
            side = j < _convs.Length - 1 ? side / 2 : 1;
            macs += (long)c.InChannels * c.OutChannels * c.Kernel * c.Kernel * side * side;
        }
        return macs;
    }

    protected override IEnumerable<(string Name, Module Child)> Children =>
        _convs.Select((c, i) => ($"conv{i}", (Module)c))
            .Concat(_norms.Select((n, i) => (n, i)).Where(p => p.n is not null).Select(p => ($"bn{p.i}", (Module)p.n!)));

    public override Tensor Forward(Tensor images)
    {
        ArgumentNullException.ThrowIfNull(images);
        Tensor x = images;
        Tensor? owned = null;
        for (int j = 0; j < _norms.Length; j++)
        {
            // The activation is fused into BatchNorm where there is one, else into the convolution.
            var next = _norms[j] is { } bn ? NormalizeActivate(bn, _convs[j], x) : _convs[j].Forward(x, FusedActivation.LeakyRelu, Slope);
            owned?.Dispose();
            x = owned = next;
        }
        using var o = _convs[^1].Forward(x);
        owned?.Dispose();
        return o.Reshape(o.Size(0));
    }

    private static Tensor NormalizeActivate(BatchNorm2dLayer bn, Conv2dLayer conv, Tensor x)
    {
        using var c = conv.Forward(x);
        return bn.Forward(c, FusedActivation.LeakyRelu, Slope);
    }
}
