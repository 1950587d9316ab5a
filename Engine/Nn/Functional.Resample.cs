using GanEngine.Ops.Resample;
using GanEngine.Tensors;

namespace GanEngine.Nn;

public static partial class Functional
{
    /// <summary>
    /// <c>F.interpolate(x, scale_factor=scale, mode="nearest")</c> (PyTorch's <c>nn.Upsample</c>):
    /// x (N, C, H, W) to (N, C, H * scale, W * scale), each pixel repeated in a scale x scale block.
    /// The backward sums the gradient over each block.
    /// </summary>
    public static Tensor UpsampleNearest2d(Tensor x, int scale)
    {
        RequireLayout(x, 4, "UpsampleNearest2d input");
        if (scale < 1)
        {
            throw new ArgumentException($"UpsampleNearest2d: scale must be >= 1, not {scale}.", nameof(scale));
        }
        var shape = new UpsampleNearest2dShape(x.Size(0), x.Size(1), x.Size(2), x.Size(3), scale);
        shape.Validate();
        var stream = x.Stream;
        var accelerator = x.Accelerator;
        int[] inputShape = x.ShapeArray();
        var y = Tensor.Empty(accelerator, [shape.Batch, shape.Channels, shape.OutHeight, shape.OutWidth], stream);
        Ops.Resample.UpsampleNearest2d.Forward(stream, shape, x.DenseView, y.DenseView);
        return Autograd.Record(y, "UpsampleNearest2d", [x], [], (_, g) =>
        {
            using var dense = Dense(g);
            var gx = Tensor.Empty(accelerator, inputShape, stream);
            Ops.Resample.UpsampleNearest2d.Backward(stream, shape, dense.DenseView, gx.DenseView);
            return [gx];
        });
    }

    /// <summary>
    /// <c>F.avg_pool2d(x, kernel)</c> with stride = kernel and no padding: x (N, C, H, W) to
    /// (N, C, H / kernel, W / kernel). H and W must be multiples of <paramref name="kernel"/>
    /// (<see cref="ArgumentException"/> otherwise). The backward spreads grad / kernel^2 over each block.
    /// </summary>
    public static Tensor AvgPool2d(Tensor x, int kernel)
    {
        RequireLayout(x, 4, "AvgPool2d input");
        if (kernel < 1)
        {
            throw new ArgumentException($"AvgPool2d: kernel must be >= 1, not {kernel}.", nameof(kernel));
        }
        var shape = new AvgPool2dShape(x.Size(0), x.Size(1), x.Size(2), x.Size(3), kernel);
        shape.Validate();
        var stream = x.Stream;
        var accelerator = x.Accelerator;
        int[] inputShape = x.ShapeArray();
        var y = Tensor.Empty(accelerator, [shape.Batch, shape.Channels, shape.OutHeight, shape.OutWidth], stream);
        Ops.Resample.AvgPool2d.Forward(stream, shape, x.DenseView, y.DenseView);
        return Autograd.Record(y, "AvgPool2d", [x], [], (_, g) =>
        {
            using var dense = Dense(g);
            var gx = Tensor.Empty(accelerator, inputShape, stream);
            Ops.Resample.AvgPool2d.Backward(stream, shape, dense.DenseView, gx.DenseView);
            return [gx];
        });
    }
}
