using GanEngine.Kernels;

namespace GanEngine.Tests.Conformance.Kernels;

/// <summary>Launch geometry: every thread reports its indices; ragged edges are guarded.</summary>
public static partial class IndexingKernels
{
    /// <summary>Writes the global linear index, blockIdx.x and threadIdx.x of each thread below n.</summary>
    [Kernel]
    public static void Index1D(ArrayView<int> linear, ArrayView<int> block, ArrayView<int> thread, int n)
    {
        int i = (BlockIdx.X * BlockDim.X) + ThreadIdx.X;
        if (i < n)
        {
            linear[i] = i;
            block[i] = BlockIdx.X;
            thread[i] = ThreadIdx.X;
        }
    }

    /// <summary>2D: element (x, y) of a width x height row-major grid; components packed as
    /// blockIdx * 1024 + threadIdx into one int per axis.</summary>
    [Kernel]
    public static void Index2D(ArrayView<int> linear, ArrayView<int> xs, ArrayView<int> ys, int width, int height)
    {
        int x = (BlockIdx.X * BlockDim.X) + ThreadIdx.X;
        int y = (BlockIdx.Y * BlockDim.Y) + ThreadIdx.Y;
        if (x < width && y < height)
        {
            int e = (y * width) + x;
            linear[e] = e;
            xs[e] = (BlockIdx.X * 1024) + ThreadIdx.X;
            ys[e] = (BlockIdx.Y * 1024) + ThreadIdx.Y;
        }
    }

    /// <summary>3D: element (x, y, z) of a width x height x depth grid; also reports the extents.</summary>
    [Kernel]
    public static void Index3D(ArrayView<int> linear, ArrayView<int> xs, ArrayView<int> ys, ArrayView<int> zs, ArrayView<int> dims, int width, int height, int depth)
    {
        int x = (BlockIdx.X * BlockDim.X) + ThreadIdx.X;
        int y = (BlockIdx.Y * BlockDim.Y) + ThreadIdx.Y;
        int z = (BlockIdx.Z * BlockDim.Z) + ThreadIdx.Z;
        if (x < width && y < height && z < depth)
        {
            int e = (((z * height) + y) * width) + x;
            linear[e] = e;
            xs[e] = (BlockIdx.X * 1024) + ThreadIdx.X;
            ys[e] = (BlockIdx.Y * 1024) + ThreadIdx.Y;
            zs[e] = (BlockIdx.Z * 1024) + ThreadIdx.Z;
            dims[e] = Pack(BlockDim.X, BlockDim.Y, BlockDim.Z, GridDim.X, GridDim.Y, GridDim.Z);
        }
    }

    /// <summary>output[i] = input[i] * factor + offset (used by the stream and slice tests).</summary>
    [Kernel]
    public static void Affine(ReadOnlyView<float> input, ArrayView<float> output, float factor, float offset)
    {
        int i = (BlockIdx.X * BlockDim.X) + ThreadIdx.X;
        if (i < output.Length)
        {
            output[i] = (input[i] * factor) + offset;
        }
    }

    /// <summary>Like <see cref="Index1D"/>, with a launch bound of 64 threads per block.</summary>
    [Kernel]
    [LaunchBounds(64)]
    public static void BoundedIndex(ArrayView<int> linear, int n)
    {
        int i = (BlockIdx.X * BlockDim.X) + ThreadIdx.X;
        if (i < n)
        {
            linear[i] = i;
        }
    }

    // A helper of the same class: 5 bits per extent.
    private static int Pack(int a, int b, int c, int d, int e, int f)
    {
        return a | (b << 5) | (c << 10) | (d << 15) | (e << 20) | (f << 25);
    }
}
