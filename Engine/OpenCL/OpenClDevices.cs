namespace GanEngine.Accelerators.OpenCL;

/// <summary>Which kind of OpenCL device to pick.</summary>
public enum OpenClDeviceType
{
    /// <summary>Any device; when several match, GPUs are preferred.</summary>
    Any,
    Gpu,
    Cpu,
    Accelerator,
}

/// <summary>One OpenCL device as <see cref="OpenClAccelerator.Enumerate"/> found it.</summary>
public sealed class OpenClDeviceDescription
{
    internal OpenClDeviceDescription(nint platform, nint device, string platformName, string platformVersion, string deviceName, OpenClDeviceType type, string deviceVersion, string openClCVersion)
    {
        PlatformHandle = platform;
        DeviceHandle = device;
        PlatformName = platformName;
        PlatformVersion = platformVersion;
        DeviceName = deviceName;
        Type = type;
        DeviceVersion = deviceVersion;
        OpenClCVersion = openClCVersion;
    }

    /// <summary>CL_PLATFORM_NAME, e.g. "NVIDIA CUDA" or "Portable Computing Language".</summary>
    public string PlatformName { get; }

    /// <summary>CL_PLATFORM_VERSION.</summary>
    public string PlatformVersion { get; }

    /// <summary>CL_DEVICE_NAME.</summary>
    public string DeviceName { get; }

    public OpenClDeviceType Type { get; }

    /// <summary>CL_DEVICE_VERSION.</summary>
    public string DeviceVersion { get; }

    /// <summary>CL_DEVICE_OPENCL_C_VERSION.</summary>
    public string OpenClCVersion { get; }

    internal nint PlatformHandle { get; }

    internal nint DeviceHandle { get; }

    public override string ToString() => $"{PlatformName} ({PlatformVersion}) | {DeviceName} | {Type} | {DeviceVersion} | {OpenClCVersion}";
}

/// <summary>The result of <see cref="OpenClAccelerator.Enumerate"/>: the devices, or why there are none.</summary>
/// <param name="Devices">Every device of every platform, in platform order.</param>
/// <param name="Reason">Why <paramref name="Devices"/> is empty (no library, no platform, no device); null otherwise.</param>
public sealed record OpenClEnumeration(IReadOnlyList<OpenClDeviceDescription> Devices, string? Reason)
{
    public bool IsAvailable => Devices.Count > 0;
}
