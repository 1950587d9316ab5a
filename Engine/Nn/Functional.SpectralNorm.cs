using GanEngine.Ops.SpectralNorm;
using GanEngine.Tensors;

namespace GanEngine.Nn;

public static partial class Functional
{
    /// <summary>
    /// Spectral normalisation (<c>torch.nn.utils.spectral_norm</c>, dim 0): returns <c>W / sigma</c>
    /// of <paramref name="weight"/>'s shape, with W the weight as a (size(0), rest) matrix and
    /// <c>sigma = u^T W v</c>. In training one power iteration first updates <paramref name="u"/>
    /// (size(0)) and <paramref name="v"/> (rest) in place (<c>v = normalize(W^T u)</c>,
    /// <c>u = normalize(W v)</c>); in evaluation the stored vectors are used as they are.
    /// </summary>
    /// <remarks>The backward flows to the weight only: u, v and sigma are constants, as in PyTorch
    /// (<c>dW = (dWsn - sum(dWsn * Wsn) u v^T) / sigma</c>). The node keeps copies of u and v taken
    /// after this call's power iteration, so a second forward before the backward (a discriminator
    /// applied to real, then fake data) does not change this call's gradient. sigma and the
    /// workspaces come from the caching allocator; nothing synchronises the host.</remarks>
    public static Tensor SpectralNorm(Tensor weight, Tensor u, Tensor v, bool training, float eps = 1e-12f)
    {
        ArgumentNullException.ThrowIfNull(weight);
        ArgumentNullException.ThrowIfNull(u);
        ArgumentNullException.ThrowIfNull(v);
        if (weight.Rank < 1 || !weight.IsContiguous)
        {
            throw new ArgumentException($"SpectralNorm weight {Tensor.Format(weight.Shape)} must be contiguous with at least one dimension.");
        }
        var shape = SpectralNormShape.FromWeightShape(weight.ShapeArray());
        RequireBias(u, shape.Rows, "SpectralNorm u");
        RequireBias(v, shape.Cols, "SpectralNorm v");
        var stream = weight.Stream;
        var accelerator = weight.Accelerator;
        weight.RecordUse(u);
        weight.RecordUse(v);
        var y = Tensor.Empty(accelerator, weight.ShapeArray(), stream);
        var sigma = Tensor.Empty(accelerator, [1], stream);
        using (var workspace = Tensor.Empty(accelerator, [SpectralNormalization.ForwardWorkspaceLength(shape)], stream))
        {
            SpectralNormalization.Forward(stream, shape, weight.DenseView, u.DenseView, v.DenseView, sigma.DenseView, y.DenseView,
                workspace.DenseView, training ? 1 : 0, eps);
        }
        if (!Autograd.IsEnabled || !weight.RequiresGrad)
        {
            sigma.Dispose();
            return y;
        }
        // Snapshots of u and v as this forward used them (later forwards update u and v in place).
        var uSaved = Tensor.Empty(accelerator, [shape.Rows], stream);
        var vSaved = Tensor.Empty(accelerator, [shape.Cols], stream);
        uSaved.CopyFrom(u);
        vSaved.CopyFrom(v);
        var result = Autograd.Record(y, "SpectralNorm", [weight], [y, uSaved, vSaved, sigma], (node, g) =>
        {
            using var dense = Dense(g);
            var gw = Tensor.Empty(accelerator, node.Saved[0].ShapeArray(), stream);
            using var workspace = Tensor.Empty(accelerator, [SpectralNormalization.BackwardWorkspaceLength(shape)], stream);
            SpectralNormalization.Backward(stream, shape, dense.DenseView, node.Saved[0].DenseView, node.Saved[1].DenseView,
                node.Saved[2].DenseView, node.Saved[3].DenseView, gw.DenseView, workspace.DenseView);
            return [gw];
        });
        // The node holds its own aliases; these handles are ours to release.
        uSaved.Dispose();
        vSaved.Dispose();
        sigma.Dispose();
        return result;
    }
}
