using GanEngine.Kernels.Cpu;

namespace GanEngine.Kernels;

// Index names follow CUDA (threadIdx, blockIdx, blockDim, gridDim) so that kernels ported from
// CUDA literature read the same. OpenCL: get_local_id, get_group_id, get_local_size, get_num_groups.

/// <summary>The thread's index within its block (<c>threadIdx</c>).</summary>
public static class ThreadIdx
{
    public static int X => CpuThread.Current.ThreadIdx.X;
    public static int Y => CpuThread.Current.ThreadIdx.Y;
    public static int Z => CpuThread.Current.ThreadIdx.Z;
}

/// <summary>The block's index within the grid (<c>blockIdx</c>).</summary>
public static class BlockIdx
{
    public static int X => CpuThread.Current.BlockIdx.X;
    public static int Y => CpuThread.Current.BlockIdx.Y;
    public static int Z => CpuThread.Current.BlockIdx.Z;
}

/// <summary>The block's extent in threads (<c>blockDim</c>).</summary>
public static class BlockDim
{
    public static int X => CpuThread.Current.Group.BlockDim.X;
    public static int Y => CpuThread.Current.Group.BlockDim.Y;
    public static int Z => CpuThread.Current.Group.BlockDim.Z;
}

/// <summary>The grid's extent in blocks (<c>gridDim</c>).</summary>
public static class GridDim
{
    public static int X => CpuThread.Current.Group.GridDim.X;
    public static int Y => CpuThread.Current.Group.GridDim.Y;
    public static int Z => CpuThread.Current.Group.GridDim.Z;
}
