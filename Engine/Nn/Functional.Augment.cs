using GanEngine.Kernels.Augment;
using GanEngine.Ops.Augment;
using GanEngine.Tensors;

namespace GanEngine.Nn;

public static partial class Functional
{
    /// <summary>
    /// DiffAugment (Zhao et al. 2020) of an image batch x (N, C, H, W): colour (brightness, saturation,
    /// contrast), translation with zero fill, cutout, as <paramref name="policy"/> selects, each sample
    /// transformed by its own draws <paramref name="u"/> (N x <see cref="DiffAugmentKernels.DrawsPerSample"/>
    /// uniforms in [0, 1), e.g. from <c>Philox.Uniform</c>). Differentiable in x: D's loss on augmented fakes
    /// reaches G through it. Two launches per part and direction at most; nothing waits for the device.
    /// </summary>
    public static Tensor DiffAugment(Tensor x, Tensor u, DiffAugmentPolicy policy)
    {
        RequireLayout(x, 4, "DiffAugment input");
        ArgumentNullException.ThrowIfNull(u);
        int n = x.Size(0), c = x.Size(1), h = x.Size(2), w = x.Size(3);
        if (u.Length < n * DiffAugmentKernels.DrawsPerSample || !u.IsContiguous)
        {
            throw new ArgumentException($"DiffAugment: u must be contiguous with {n * DiffAugmentKernels.DrawsPerSample} uniforms ({DiffAugmentKernels.DrawsPerSample} per sample), got {Tensor.Format(u.Shape)}.", nameof(u));
        }
        if (policy.IsIdentity)
        {
            return x.Alias();
        }
        var stream = x.Stream;
        var accelerator = x.Accelerator;
        int[] shape = x.ShapeArray();
        var shift = policy.ShiftFor(h, w);
        var cut = policy.CutoutFor(h, w);
        bool geometric = shift != (0, 0) || cut != (0, 0);
        using var input = Dense(x);
        using var sums = policy.Color ? Tensor.Empty(accelerator, [n], stream) : null;
        Tensor? colored = null;
        if (policy.Color)
        {
            colored = Tensor.Empty(accelerator, shape, stream);
            Ops.Augment.DiffAugment.ColorForward(stream, n, c, h * w, input.DenseView, u.DenseView, sums!.DenseView, colored.DenseView);
        }
        Tensor y;
        if (geometric)
        {
            y = Tensor.Empty(accelerator, shape, stream);
            Ops.Augment.DiffAugment.TranslateCutout(stream, n, c, h, w, shift, cut, (colored ?? input).DenseView, u.DenseView, y.DenseView, backward: false);
            colored?.Dispose();
        }
        else
        {
            y = colored!; // not the identity and not geometric: colour ran
        }
        return Autograd.Record(y, "DiffAugment", [x], [u], (node, g) =>
        {
            var draws = node.Saved[0];
            var grad = Dense(g);
            if (geometric)
            {
                var back = Tensor.Empty(accelerator, shape, stream);
                Ops.Augment.DiffAugment.TranslateCutout(stream, n, c, h, w, shift, cut, grad.DenseView, draws.DenseView, back.DenseView, backward: true);
                grad.Dispose();
                grad = back;
            }
            if (policy.Color)
            {
                using var sums = Tensor.Empty(accelerator, [n], stream);
                var gx = Tensor.Empty(accelerator, shape, stream);
                Ops.Augment.DiffAugment.ColorBackward(stream, n, c, h * w, grad.DenseView, draws.DenseView, sums.DenseView, gx.DenseView);
                grad.Dispose();
                grad = gx;
            }
            return [grad];
        });
    }
}
