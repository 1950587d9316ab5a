using GanEngine.Accelerators.Cpu;
using GanEngine.Accelerators.Cuda;
using GanEngine.Accelerators.OpenCL;

namespace GanEngine.Accelerators;

/// <summary>One accelerator found on this machine, or a backend that is not usable here and why.</summary>
/// <param name="Id">What to pass to <see cref="AcceleratorSelector.Create"/> to get it (e.g. <c>cuda:0</c>).</param>
/// <param name="Kind">Its backend.</param>
/// <param name="Description">Name and capabilities, or the reason it is unavailable.</param>
/// <param name="Available">False when the backend could not be used (the description says why).</param>
public sealed record AcceleratorCandidate(string Id, AcceleratorKind Kind, string Description, bool Available);

/// <summary>
/// Chooses the accelerator: an explicit preference (a command-line flag), else the
/// <see cref="EnvironmentVariable"/>, else CUDA if a GPU is there, else an OpenCL GPU, else the CPU.
/// </summary>
/// <remarks>
/// Preferences: <c>auto</c>, <c>cpu</c>, <c>cpu-deterministic</c>, <c>cuda</c>, <c>cuda:N</c>,
/// <c>opencl</c> (GPU first), <c>opencl:TEXT</c> (first device whose platform name contains TEXT,
/// e.g. <c>opencl:pocl</c>, <c>opencl:nvidia</c>).
/// </remarks>
public static class AcceleratorSelector
{
    /// <summary>Environment variable read when no explicit preference is given.</summary>
    public const string EnvironmentVariable = "GANENGINE_DEVICE";

    /// <summary>Every accelerator found, plus one unavailable entry per backend that could not be used.</summary>
    public static IReadOnlyList<AcceleratorCandidate> Discover()
    {
        var found = new List<AcceleratorCandidate>();
        if (CudaAccelerator.IsAvailable(out string cudaReason))
        {
            var devices = CudaAccelerator.Enumerate();
            for (int i = 0; i < devices.Count; i++)
            {
                found.Add(new AcceleratorCandidate($"cuda:{i}", AcceleratorKind.Cuda, devices[i].ToString(), true));
            }
        }
        else
        {
            found.Add(new AcceleratorCandidate("cuda", AcceleratorKind.Cuda, cudaReason, false));
        }

        var openCl = OpenClAccelerator.Enumerate();
        foreach (var device in openCl.Devices)
        {
            found.Add(new AcceleratorCandidate($"opencl:{device.PlatformName}", AcceleratorKind.OpenCL, device.ToString(), true));
        }
        if (!openCl.IsAvailable)
        {
            found.Add(new AcceleratorCandidate("opencl", AcceleratorKind.OpenCL, openCl.Reason ?? "no OpenCL device", false));
        }

        found.Add(new AcceleratorCandidate("cpu", AcceleratorKind.Cpu,
            $"CPU accelerator: the C# kernels themselves on {Environment.ProcessorCount} cores", true));
        return found;
    }

    /// <summary>Opens the accelerator named by <paramref name="preference"/> (see the remarks), or by the
    /// environment variable, or the best one present. Throws with the reason when the named one is unusable.</summary>
    public static Accelerator Create(string? preference = null)
    {
        string choice = (string.IsNullOrWhiteSpace(preference) ? Environment.GetEnvironmentVariable(EnvironmentVariable) : preference)?.Trim() ?? "auto";
        string kind = choice;
        string? argument = null;
        int colon = choice.IndexOf(':', StringComparison.Ordinal);
        if (colon >= 0)
        {
            kind = choice[..colon];
            argument = choice[(colon + 1)..];
        }

        switch (kind.ToLowerInvariant())
        {
            case "" or "auto":
                if (CudaAccelerator.IsAvailable(out _))
                {
                    return new CudaAccelerator();
                }
                if (OpenClAccelerator.TrySelect(null, OpenClDeviceType.Gpu, out var gpu, out _))
                {
                    return new OpenClAccelerator(gpu!);
                }
                return new CpuAccelerator();
            case "cpu":
                return new CpuAccelerator();
            case "cpu-deterministic":
                return new CpuAccelerator(CpuAcceleratorOptions.DeterministicDefault);
            case "cuda":
                if (!CudaAccelerator.IsAvailable(out string reason))
                {
                    throw new InvalidOperationException($"CUDA was asked for ('{choice}') but is not usable: {reason}");
                }
                int ordinal = 0;
                if (argument is not null && !int.TryParse(argument, out ordinal))
                {
                    throw new ArgumentException($"'{choice}': the CUDA device must be a number, as in cuda:0.");
                }
                return new CudaAccelerator(ordinal);
            case "opencl":
                return OpenClAccelerator.Create(argument);
            default:
                throw new ArgumentException(
                    $"Unknown accelerator '{choice}'. Use auto, cpu, cpu-deterministic, cuda, cuda:N, opencl or opencl:PLATFORM (from {EnvironmentVariable} or --device).");
        }
    }
}
