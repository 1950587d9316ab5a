namespace GanEngine.Kernels.Elementwise;

/// <summary>
/// The block ranges of a multi-tensor launch (one launch over up to <see cref="Count"/> tensors, "slots"):
/// slot 0 owns blocks [0, S1), slot k blocks [S<sub>k</sub>, S<sub>k+1</sub>), the last slot [S7, gridDim.x).
/// An unused slot owns no block (its start equals the next one). Passed to kernels by value (28 bytes);
/// built on the host by <see cref="ElementwiseLaunch.Slots"/>.
/// </summary>
public struct SlotStarts
{
    /// <summary>Tensors one multi-tensor launch takes at most.</summary>
    public const int Count = 8;

    public int S1;
    public int S2;
    public int S3;
    public int S4;
    public int S5;
    public int S6;
    public int S7;
}
