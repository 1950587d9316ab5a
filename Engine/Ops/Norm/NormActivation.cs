using GanEngine.Kernels.Norm;

namespace GanEngine.Ops.Norm;

/// <summary>The element-wise activation a normalisation applies as it writes its output (and whose
/// gradient its backward applies first): DCGAN's BatchNorm-ReLU and BatchNorm-LeakyReLU pairs in one
/// pass instead of two. Values are the kernels' <c>Activation</c> specializations.</summary>
public enum NormActivation
{
    /// <summary>The plain normalised value.</summary>
    None = BatchNormKernels.ActivationNone,

    /// <summary><c>F.relu</c>; gradient 0 at 0.</summary>
    Relu = BatchNormKernels.ActivationRelu,

    /// <summary><c>F.leaky_relu(negative_slope)</c>; gradient negative_slope at 0.</summary>
    LeakyRelu = BatchNormKernels.ActivationLeakyRelu,
}
