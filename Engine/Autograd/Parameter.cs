using GanEngine.Accelerators;
using GanEngine.Ops.Elementwise;

namespace GanEngine.Tensors;

/// <summary>
/// A trainable leaf tensor (PyTorch's <c>nn.Parameter</c>): requires grad, owns its
/// <see cref="Tensor.Grad"/>, and is never disposed by a <see cref="TensorScope"/> (its owner, a
/// module or the caller, disposes it).
/// </summary>
public sealed class Parameter : Tensor
{
    private Parameter(TensorStorage storage, int[] shape)
        : base(storage, shape, StridedLayout.ContiguousStrides(shape), 0, scoped: false) => RequiresGrad = true;

    /// <summary>A parameter initialised from <paramref name="data"/> (row-major).</summary>
    public static new Parameter FromHost(Accelerator accelerator, float[] data, params int[] shape)
    {
        using var t = Tensor.FromHost(accelerator, data, shape);
        return From(t);
    }

    /// <summary>A parameter of zeros.</summary>
    public static Parameter Zeros(Accelerator accelerator, params int[] shape)
    {
        using var t = Tensor.Zeros(accelerator, shape);
        return From(t);
    }

    /// <summary>A parameter holding a copy of <paramref name="source"/>'s values (contiguous).</summary>
    public static Parameter From(Tensor source)
    {
        ArgumentNullException.ThrowIfNull(source);
        using var noGrad = Autograd.NoGrad();
        using var dense = source.ContiguousCopy();
        var storage = dense.Storage;
        storage.AddReference();
        var p = new Parameter(storage, source.ShapeArray());
        return p;
    }
}
