namespace GanEngine.Kernels.TensorOps;

/// <summary>
/// Six extents or six strides, passed to kernels by value (24 bytes). A tensor of rank r &lt; 6 fills
/// the last r entries; the leading ones are extent 1 / stride 0. A stride of 0 on an extent above 1
/// is a broadcast (expanded) dimension.
/// </summary>
public struct Dims6
{
    public int D0;
    public int D1;
    public int D2;
    public int D3;
    public int D4;
    public int D5;
}
