using GanEngine.Datasets;
using GanEngine.Datasets.Png;
using NUnit.Framework;

namespace GanEngine.Tests.Datasets;

public class PngFolderTests : TempFolderTest
{
    private string WritePng(string relative, PngImage image) => Write(relative, PngEncoder.Encode(image));

    private static PngImage Grey(int size, int value) =>
        new(size, size, 1, 8, Enumerable.Repeat((ushort)value, size * size).ToArray());

    [Test]
    public void Unlabeled_when_any_image_is_at_the_top_and_sorted_ordinally()
    {
        WritePng("b.png", Grey(4, 10));
        WritePng("B.PNG", Grey(4, 20));
        WritePng("a.png", Grey(4, 30));
        WritePng("sub/c.png", Grey(4, 40));
        Write("notes.txt", [1, 2, 3]);
        Write(".hidden.png", [1, 2, 3]); // hidden files (e.g. macOS "._" files) are skipped
        var dataset = new PngFolderDataset(Dir);
        Assert.That(dataset.Files.Select(f => Path.GetRelativePath(Dir, f).Replace('\\', '/')),
            Is.EqualTo(new[] { "B.PNG", "a.png", "b.png", "sub/c.png" }));
        Assert.That((dataset.Count, dataset.ClassCount, dataset.Label(3)), Is.EqualTo((4, 0, -1)));
        Assert.That((dataset.Channels, dataset.Height, dataset.Width), Is.EqualTo((1, 4, 4)));
        Assert.That(dataset.Name, Is.EqualTo(Path.GetFileName(Dir)));
        Assert.That(ReadAll(dataset, 1), Is.All.EqualTo((30 / 127.5f) - 1f).Within(1e-6f));
    }

    [Test]
    public void Labeled_by_top_level_subfolder_when_every_image_is_in_one()
    {
        WritePng("dogs/x.png", Grey(2, 0));
        WritePng("cats/b.png", Grey(2, 0));
        WritePng("cats/deeper/a.png", Grey(2, 0));
        WritePng("emus/z.png", Grey(2, 0));
        var dataset = new PngFolderDataset(Dir);
        Assert.That(dataset.ClassNames, Is.EqualTo(new[] { "cats", "dogs", "emus" }));
        Assert.That(dataset.ClassCount, Is.EqualTo(3));
        Assert.That(Enumerable.Range(0, 4).Select(dataset.Label), Is.EqualTo(new[] { 0, 0, 1, 2 }));
        Assert.That(Path.GetFileName(dataset.Files[1]), Is.EqualTo("a.png"));
    }

    [Test]
    public void Images_of_other_sizes_and_colour_types_are_converted_to_the_first_ones()
    {
        WritePng("0.png", Grey(2, 255));
        // 4x4 RGBA: left half red, right half blue, alpha dropped.
        var rgba = new PngImage(4, 4, 4, 8);
        for (var y = 0; y < 4; y++)
        {
            for (var x = 0; x < 4; x++)
            {
                (rgba[x, y, 0], rgba[x, y, 1], rgba[x, y, 2], rgba[x, y, 3]) = x < 2 ? ((ushort)255, (ushort)0, (ushort)0, (ushort)7) : ((ushort)0, (ushort)0, (ushort)255, (ushort)0);
            }
        }
        WritePng("1.png", rgba);
        var dataset = new PngFolderDataset(Dir);
        Assert.That((dataset.Channels, dataset.Height, dataset.Width), Is.EqualTo((1, 2, 2)));
        // Red luma: 0.299 * 1 + 0.587 * -1 + 0.114 * -1; blue: -0.299 - 0.587 + 0.114.
        float red = 0.299f - 0.587f - 0.114f, blue = -0.299f - 0.587f + 0.114f;
        Assert.That(ReadAll(dataset, 1), Is.EqualTo(new[] { red, blue, red, blue }).Within(1e-5f));
        Assert.That(ReadAll(dataset, 1), Is.EqualTo(ReadAll(dataset, 1)), "cached read equals the first");

        var colour = new PngFolderDataset(Dir, 4, 4, 3);
        var image = ReadAll(colour, 0);
        Assert.That(image, Is.All.EqualTo(1f));
        Assert.That(ReadAll(colour, 1)[..4], Is.EqualTo(new[] { 1f, 1f, -1f, -1f }));
    }

    [Test]
    public void Factory_opens_a_png_folder_at_the_spec_resolution()
    {
        WritePng("a/0.png", new PngImage(3, 3, 3, 16, Enumerable.Range(0, 27).Select(i => (ushort)(i * 2000)).ToArray()));
        WritePng("b/1.png", Grey(5, 0));
        var dataset = DatasetFactory.Open(new DatasetSpec("png-folder", Dir, DatasetSplit.All, 6, 3));
        Assert.That((dataset.Count, dataset.Channels, dataset.Height, dataset.Width, dataset.ClassCount), Is.EqualTo((2, 3, 6, 6, 2)));
        Assert.That(ReadAll(dataset, 1), Is.All.EqualTo(-1f));
        Assert.That(ReadAll(dataset, 0), Is.All.InRange(-1f, 1f));
    }

    [Test]
    public void Errors_name_the_folder_or_the_broken_file()
    {
        AssertDatasetError(() => _ = new PngFolderDataset(Dir), Dir, "no .png files");
        AssertDatasetError(() => _ = new PngFolderDataset(Path.Combine(Dir, "missing")), "missing", "does not exist");
        WritePng("0.png", Grey(2, 0));
        var broken = Write("1.png", PngEncoder.Encode(Grey(2, 0))[..30]);
        var dataset = new PngFolderDataset(Dir);
        AssertDatasetError(() => ReadAll(dataset, 1), broken, "truncated");
        AssertDatasetError(() => _ = new PngFolderDataset(broken), broken, "is a file");
        var first = Write("x/0.png", [1, 2, 3, 4, 5, 6, 7, 8, 9]);
        AssertDatasetError(() => _ = new PngFolderDataset(Path.Combine(Dir, "x")), first, "signature");
    }
}
