namespace GanEngine.Accelerators.OpenCL;

/// <summary>An OpenCL API call returned an error status.</summary>
public sealed class OpenClException : Exception
{
    public OpenClException()
        : this("OpenCL call", -9999)
    {
    }

    public OpenClException(string message)
        : base(message)
    {
        Function = string.Empty;
        ErrorName = string.Empty;
    }

    public OpenClException(string message, Exception innerException)
        : base(message, innerException)
    {
        Function = string.Empty;
        ErrorName = string.Empty;
    }

    public OpenClException(string function, int status)
        : base($"{function} failed: {OpenClApi.ErrorName(status)}")
    {
        Function = function;
        Status = status;
        ErrorName = OpenClApi.ErrorName(status);
    }

    /// <summary>The OpenCL function that failed, e.g. <c>clBuildProgram</c>.</summary>
    public string Function { get; }

    /// <summary>The status code it returned.</summary>
    public int Status { get; }

    /// <summary>The status code's CL_* name.</summary>
    public string ErrorName { get; }
}

/// <summary>
/// The OpenCL driver rejected a kernel's source. <see cref="Exception.Message"/> carries the kernel
/// name, the build options and the build log; the generated source has <c>#line</c> directives into
/// the C# file, so the log names C# files and lines.
/// </summary>
public sealed class OpenClCompilationException : Exception
{
    public OpenClCompilationException()
        : base("OpenCL kernel compilation failed.")
    {
        KernelName = BuildLog = BuildOptions = string.Empty;
    }

    public OpenClCompilationException(string message)
        : base(message)
    {
        KernelName = BuildLog = BuildOptions = string.Empty;
    }

    public OpenClCompilationException(string message, Exception innerException)
        : base(message, innerException)
    {
        KernelName = BuildLog = BuildOptions = string.Empty;
    }

    public OpenClCompilationException(string kernelName, string buildOptions, string buildLog, OpenClException innerException)
        : base($"OpenCL could not compile kernel {kernelName} ({innerException.Message}; options: {buildOptions}). Build log:{Environment.NewLine}{buildLog}", innerException)
    {
        KernelName = kernelName;
        BuildOptions = buildOptions;
        BuildLog = buildLog;
    }

    /// <summary>Full C# name of the kernel.</summary>
    public string KernelName { get; }

    /// <summary>The options passed to clBuildProgram.</summary>
    public string BuildOptions { get; }

    /// <summary>The driver's build log.</summary>
    public string BuildLog { get; }
}
