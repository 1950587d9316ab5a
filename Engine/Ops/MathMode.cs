namespace GanEngine.Ops;

/// <summary>How matrix products (GEMM, convolution) use the tensor cores.</summary>
public enum MathMode
{
    /// <summary>TF32 tensor cores (10-bit mantissa operands, fp32 accumulation): PyTorch's default for cuDNN convolutions.
    /// Convolutions on the CPU accelerator run <see cref="ConvAlgorithm.Direct"/> by default, which computes in FP32: there TF32
    /// is not emulated unless <see cref="ConvAlgorithm.ImplicitGemm"/> is asked for.</summary>
    Tf32,
    /// <summary>Strict FP32 on the CUDA cores (PyTorch with <c>allow_tf32 = False</c>).</summary>
    StrictFp32,
}

/// <summary>Process-wide numerics settings, read by ops that are not given an explicit <see cref="MathMode"/>.</summary>
public static class MathSettings
{
    /// <summary>The mode for convolutions and matrix products; TF32 by default, as PyTorch's cuDNN convolutions.</summary>
    public static MathMode Default { get; set; } = MathMode.Tf32;
}
