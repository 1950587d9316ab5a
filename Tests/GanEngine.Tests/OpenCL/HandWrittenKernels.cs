using GanEngine.Kernels;

namespace GanEngine.Tests.OpenCL;

/// <summary>
/// KernelDefinitions written by hand, as the generator will write them: OpenCL C sources that follow
/// the device ABI of docs/kernel-platform.md exactly (views as base, ulong offset, int length;
/// specializations as GE_SPEC_ defines; dynamic local memory as a trailing __local uint4*), with
/// #line directives into a (made-up) C# file.
/// </summary>
internal static class HandWrittenKernels
{
    public const string SourceFile = "Tests/GanEngine.Tests/OpenCL/HandWrittenKernels.cs";

    private static KernelDefinition Define(string name, string source, KernelFeatures features, params KernelParameter[] parameters) =>
        new(
            "GanEngine.Tests.OpenCL.HandWritten." + name,
            "GanEngine_Tests_OpenCL_HandWritten_" + name,
            cudaSource: "",
            openClSource: source,
            parameters,
            features,
            maxThreadsPerBlock: 0,
            minBlocksPerMultiprocessor: 0,
            SourceFile,
            sourceLine: 1,
            cpu: _ => throw new NotSupportedException("hand-written OpenCL test kernel"));

    private static KernelParameter View(string name, string type, int size, bool readOnly = false) =>
        new(name, readOnly ? KernelArgumentKind.ReadOnlyBuffer : KernelArgumentKind.Buffer, type, size);

    private static KernelParameter Scalar(string name, string type, int size) => new(name, KernelArgumentKind.Scalar, type, size);

    private static KernelParameter Specialization(string name) => new(name, KernelArgumentKind.Specialization, "int", 4);

    /// <summary>y[i] = a * x[i] + y[i] over views that may be slices.</summary>
    public static readonly KernelDefinition Axpy = Define("Axpy", $$"""
        #line 10 "{{SourceFile}}"
        __kernel void GanEngine_Tests_OpenCL_HandWritten_Axpy(__global const float* x_base, ulong x_offset, int x_length, __global float* y_base, ulong y_offset, int y_length, float a)
        {
            __global const float* x = x_base + x_offset;
            __global float* y = y_base + y_offset;
            int i = (int)(get_group_id(0) * get_local_size(0) + get_local_id(0));
            if (i < y_length && i < x_length)
            {
                y[i] = a * x[i] + y[i];
            }
        }
        """, KernelFeatures.None, View("x", "float", 4, readOnly: true), View("y", "float", 4), Scalar("a", "float", 4));

    /// <summary>The same in double precision (needs cl_khr_fp64).</summary>
    public static readonly KernelDefinition AxpyDouble = Define("AxpyDouble", $$"""
        #pragma OPENCL EXTENSION cl_khr_fp64 : enable
        #line 30 "{{SourceFile}}"
        __kernel void GanEngine_Tests_OpenCL_HandWritten_AxpyDouble(__global const double* x_base, ulong x_offset, int x_length, __global double* y_base, ulong y_offset, int y_length, double a)
        {
            __global const double* x = x_base + x_offset;
            __global double* y = y_base + y_offset;
            int i = (int)(get_group_id(0) * get_local_size(0) + get_local_id(0));
            if (i < y_length)
            {
                y[i] = a * x[i] + y[i];
            }
        }
        """, KernelFeatures.None, View("x", "double", 8, readOnly: true), View("y", "double", 8), Scalar("a", "double", 8));

    /// <summary>output[r * width + c] = 2 * input[r * width + c] + c - r on a width x height grid, 2D launch.</summary>
    public static readonly KernelDefinition Grid2D = Define("Grid2D", $$"""
        #line 50 "{{SourceFile}}"
        __kernel void GanEngine_Tests_OpenCL_HandWritten_Grid2D(__global const float* input_base, ulong input_offset, int input_length, __global float* output_base, ulong output_offset, int output_length, int width, int height)
        {
            __global const float* input = input_base + input_offset;
            __global float* output = output_base + output_offset;
            int c = (int)(get_group_id(0) * get_local_size(0) + get_local_id(0));
            int r = (int)(get_group_id(1) * get_local_size(1) + get_local_id(1));
            if (c < width && r < height)
            {
                int i = r * width + c;
                output[i] = 2.0f * input[i] + (float)c - (float)r;
            }
        }
        """, KernelFeatures.None, View("input", "float", 4, readOnly: true), View("output", "float", 4), Scalar("width", "int", 4), Scalar("height", "int", 4));

    /// <summary>y[i] = x[i] * Factor + Bias, with Factor and Bias specializations between the views.</summary>
    public static readonly KernelDefinition Specialized = Define("Specialized", $$"""
        #line 70 "{{SourceFile}}"
        __kernel void GanEngine_Tests_OpenCL_HandWritten_Specialized(__global const int* x_base, ulong x_offset, int x_length, __global int* y_base, ulong y_offset, int y_length)
        {
            __global const int* x = x_base + x_offset;
            __global int* y = y_base + y_offset;
            int i = (int)get_global_id(0);
            if (i < y_length)
            {
                y[i] = x[i] * GE_SPEC_Factor + GE_SPEC_Bias;
            }
        }
        """, KernelFeatures.None, View("x", "int", 4, readOnly: true), Specialization("Factor"), View("y", "int", 4), Specialization("Bias"));

    /// <summary>sums[g] = sum of x over group g, a tree reduction in dynamic local memory with barriers.</summary>
    public static readonly KernelDefinition BlockSum = Define("BlockSum", $$"""
        #line 90 "{{SourceFile}}"
        __kernel void GanEngine_Tests_OpenCL_HandWritten_BlockSum(__global const float* x_base, ulong x_offset, int x_length, __global float* sums_base, ulong sums_offset, int sums_length, __local uint4* ge_dynamic_shared)
        {
            __global const float* x = x_base + x_offset;
            __global float* sums = sums_base + sums_offset;
            __local float* tile = (__local float*)ge_dynamic_shared;
            int t = (int)get_local_id(0);
            int n = (int)get_local_size(0);
            int i = (int)get_group_id(0) * n + t;
            tile[t] = i < x_length ? x[i] : 0.0f;
            barrier(CLK_LOCAL_MEM_FENCE);
            for (int s = n / 2; s > 0; s >>= 1)
            {
                if (t < s)
                {
                    tile[t] += tile[t + s];
                }
                barrier(CLK_LOCAL_MEM_FENCE);
            }
            if (t == 0)
            {
                sums[get_group_id(0)] = tile[0];
            }
        }
        """, KernelFeatures.Barrier | KernelFeatures.DynamicShared, View("x", "float", 4, readOnly: true), View("sums", "float", 4));

    /// <summary>Busy work for timing: y[i] = iterations of a recurrence seeded by y[i].</summary>
    public static readonly KernelDefinition Spin = Define("Spin", $$"""
        #line 120 "{{SourceFile}}"
        __kernel void GanEngine_Tests_OpenCL_HandWritten_Spin(__global float* y_base, ulong y_offset, int y_length, int iterations)
        {
            __global float* y = y_base + y_offset;
            int i = (int)get_global_id(0);
            if (i < y_length)
            {
                float v = y[i];
                for (int k = 0; k < iterations; k++)
                {
                    v = v * 0.999f + 0.001f;
                }
                y[i] = v;
            }
        }
        """, KernelFeatures.None, View("y", "float", 4), Scalar("iterations", "int", 4));

    /// <summary>Does not compile: an undeclared identifier on C# line 43 of Fake/BrokenKernel.cs.</summary>
    public static readonly KernelDefinition Broken = Define("Broken", """
        #line 42 "Fake/BrokenKernel.cs"
        __kernel void GanEngine_Tests_OpenCL_HandWritten_Broken(__global float* y_base, ulong y_offset, int y_length)
        {   y_base[y_offset] = undeclared_thing;
        }
        """, KernelFeatures.None, View("y", "float", 4));
}
