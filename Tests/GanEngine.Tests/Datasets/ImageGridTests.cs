using GanEngine.Datasets;
using GanEngine.Datasets.Png;
using NUnit.Framework;

namespace GanEngine.Tests.Datasets;

public class ImageGridTests : TempFolderTest
{
    [Test]
    public void Grid_lays_out_cells_with_padding_and_nearest_neighbour_scale()
    {
        // Three 1x2x2 images, 2 columns, scale 2: cells 4x4, grid 2 x (4 + 2) + 2 = 14 wide and high.
        float[] images = [-1f, 1f, 0.5f, -0.5f, 1f, 1f, 1f, 1f, -1f, -1f, -1f, -1f];
        var grid = ImageGrid.Compose(images, 3, 1, 2, 2, columns: 2, scale: 2);
        Assert.That((grid.Width, grid.Height, grid.Channels, grid.BitDepth), Is.EqualTo((14, 14, 1, 8)));
        Assert.That(grid[0, 0, 0], Is.EqualTo(ImageGrid.PaddingValue));
        Assert.That(grid[2, 2, 0], Is.EqualTo(0));     // image 0 pixel (0, 0) = -1, at 2..3
        Assert.That(grid[3, 3, 0], Is.EqualTo(0));
        Assert.That(grid[4, 2, 0], Is.EqualTo(255));   // pixel (1, 0) = 1 at 4..5
        Assert.That(grid[2, 4, 0], Is.EqualTo(191));   // pixel (0, 1) = 0.5 -> 0.75 * 255 = 191.25
        Assert.That(grid[5, 5, 0], Is.EqualTo(64));    // pixel (1, 1) = -0.5 -> 63.75
        Assert.That(grid[6, 2, 0], Is.EqualTo(ImageGrid.PaddingValue));
        Assert.That(grid[8, 2, 0], Is.EqualTo(255));   // image 1 starts at 2 + 6
        Assert.That(grid[2, 8, 0], Is.EqualTo(0));     // image 2, second row
        Assert.That(grid[8, 8, 0], Is.EqualTo(ImageGrid.PaddingValue)); // no fourth image
    }

    [Test]
    public void WritePng_writes_an_RGB_grid_atomically()
    {
        var images = new float[2 * 3 * 4 * 4];
        for (var i = 0; i < 16; i++)
        {
            images[i] = 1f;           // image 0 red
            images[48 + 32 + i] = 1f; // image 1 blue
            images[16 + i] = images[32 + i] = -1f;
            images[48 + i] = images[48 + 16 + i] = -1f;
        }
        var path = Path.Combine(Dir, "runs", "samples", "grid.png");
        File.WriteAllText(Path.Combine(Dir, "placeholder"), "");
        ImageGrid.WritePng(path, images, 2, 3, 4, 4, columns: 8);
        ImageGrid.WritePng(path, images, 2, 3, 4, 4, columns: 8); // overwrites
        var grid = PngDecoder.ReadFile(path);
        Assert.That((grid.Width, grid.Height, grid.Channels), Is.EqualTo((14, 8, 3)));
        Assert.That((grid[2, 2, 0], grid[2, 2, 1], grid[2, 2, 2]), Is.EqualTo(((ushort)255, (ushort)0, (ushort)0)));
        Assert.That((grid[8, 5, 0], grid[8, 5, 1], grid[8, 5, 2]), Is.EqualTo(((ushort)0, (ushort)0, (ushort)255)));
        Assert.That(Directory.GetFiles(Path.GetDirectoryName(path)!), Is.EqualTo(new[] { path }), "no temporary file left");
        Assert.That(grid.Samples, Is.EqualTo(ImageGrid.Compose(images, 2, 3, 4, 4, 8).Samples));
    }

    [Test]
    public void Digits_grid_is_a_valid_png()
    {
        var digits = DigitsDataset.BuiltIn();
        var images = new float[100 * 64];
        for (var i = 0; i < 100; i++)
        {
            digits.ReadImage(i, images.AsSpan(i * 64, 64));
        }
        var path = Path.Combine(Dir, "digits.png");
        ImageGrid.WritePng(path, images, 100, 1, 8, 8, columns: 10, scale: 4);
        var grid = PngDecoder.ReadFile(path);
        Assert.That((grid.Width, grid.Height), Is.EqualTo((10 * 34 + 2, 10 * 34 + 2)));
    }
}
