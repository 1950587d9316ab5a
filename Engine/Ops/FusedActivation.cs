namespace GanEngine.Ops;

/// <summary>The element-wise activation an op applies as it writes its output (and whose gradient its backward applies
/// first): DCGAN's BatchNorm-ReLU / BatchNorm-LeakyReLU pairs and its first convolution's LeakyReLU, in one pass over the
/// tensor instead of two. The values are the kernels' <c>Activation</c> specializations (BatchNormKernels, ConvNarrow).</summary>
public enum FusedActivation
{
    /// <summary>The plain value.</summary>
    None = 0,

    /// <summary><c>F.relu</c>; gradient 0 at 0.</summary>
    Relu = 1,

    /// <summary><c>F.leaky_relu(negative_slope)</c>; gradient negative_slope at 0.</summary>
    LeakyRelu = 2,
}
