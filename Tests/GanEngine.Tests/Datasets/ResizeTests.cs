using GanEngine.Datasets;
using NUnit.Framework;

namespace GanEngine.Tests.Datasets;

/// <summary>Resizing and channel conversion against values computed by hand.</summary>
public class ResizeTests
{
    private static float[] Resize(float[] source, int channels, int h, int w, int oh, int ow)
    {
        var output = new float[channels * oh * ow];
        ImageResize.Resize(source, channels, h, w, output, oh, ow);
        return output;
    }

    [Test]
    public void Bilinear_upscaling_aligns_pixel_centres_and_clamps_edges()
    {
        // 1x2 -> 1x4: positions -0.25 (clamped), 0.25, 0.75, 1.25 (clamped).
        Assert.That(Resize([0f, 1f], 1, 1, 2, 1, 4), Is.EqualTo(new[] { 0f, 0.25f, 0.75f, 1f }).Within(1e-6f));
        // 1x3 -> 1x6 (scale 0.5): positions -0.25, 0.25, 0.75, 1.25, 1.75, 2.25.
        Assert.That(Resize([0f, 4f, 8f], 1, 1, 3, 1, 6), Is.EqualTo(new[] { 0f, 1f, 3f, 5f, 7f, 8f }).Within(1e-5f));
        // 2x2 -> 4x4, separable.
        float[] expected =
        [
            0f, 0.25f, 0.75f, 1f,
            0.5f, 0.75f, 1.25f, 1.5f,
            1.5f, 1.75f, 2.25f, 2.5f,
            2f, 2.25f, 2.75f, 3f,
        ];
        Assert.That(Resize([0f, 1f, 2f, 3f], 1, 2, 2, 4, 4), Is.EqualTo(expected).Within(1e-6f));
        // 1 pixel -> anything: constant.
        Assert.That(Resize([0.3f], 1, 1, 1, 3, 2), Is.All.EqualTo(0.3f).Within(1e-6f));
    }

    [Test]
    public void Area_downscaling_averages_covered_pixels_with_partial_weights()
    {
        Assert.That(Resize([1f, 2f, 3f, 4f], 1, 1, 4, 1, 2), Is.EqualTo(new[] { 1.5f, 3.5f }).Within(1e-6f));
        // 3 -> 2: outputs cover [0, 1.5) and [1.5, 3).
        Assert.That(Resize([0f, 3f, 6f], 1, 3, 1, 2, 1), Is.EqualTo(new[] { 1f, 5f }).Within(1e-6f));
        // 5 -> 2: [0, 2.5) and [2.5, 5).
        Assert.That(Resize([1f, 2f, 3f, 4f, 5f], 1, 1, 5, 1, 2), Is.EqualTo(new[] { (1f + 2f + 1.5f) / 2.5f, (1.5f + 4f + 5f) / 2.5f }).Within(1e-6f));
        // 4x4 -> 2x2 is the mean of each 2x2 block; one image of 2 channels.
        float[] source = [.. Enumerable.Range(0, 16).Select(i => (float)i), .. Enumerable.Range(0, 16).Select(i => -(float)i)];
        Assert.That(Resize(source, 2, 4, 4, 2, 2), Is.EqualTo(new[] { 2.5f, 4.5f, 10.5f, 12.5f, -2.5f, -4.5f, -10.5f, -12.5f }).Within(1e-5f));
        // Everything -> 1 pixel: the mean.
        Assert.That(Resize([1f, 2f, 3f, 6f], 1, 2, 2, 1, 1), Is.EqualTo(new[] { 3f }).Within(1e-6f));
    }

    [Test]
    public void Mixed_axes_grow_one_way_and_shrink_the_other()
    {
        // 2 rows x 4 columns -> 4 rows x 2 columns: columns averaged in pairs, rows interpolated.
        float[] source = [0f, 2f, 4f, 6f, 8f, 10f, 12f, 14f];
        // After columns: [1, 5], [9, 13]; rows at weights (1,0), (.75,.25), (.25,.75), (0,1).
        Assert.That(Resize(source, 1, 2, 4, 4, 2), Is.EqualTo(new[] { 1f, 5f, 3f, 7f, 7f, 11f, 9f, 13f }).Within(1e-5f));
    }

    [Test]
    public void Same_size_copies()
    {
        float[] source = [0.1f, -0.2f, 0.3f, 0.4f, 0.5f, 0.6f];
        Assert.That(Resize(source, 1, 2, 3, 2, 3), Is.EqualTo(source));
    }

    [Test]
    public void Grey_to_RGB_replicates_and_RGB_to_grey_takes_BT601_luma()
    {
        var rgb = new float[6];
        ImageResize.ConvertChannels([0.5f, -1f], 1, rgb, 3, 2);
        Assert.That(rgb, Is.EqualTo(new[] { 0.5f, -1f, 0.5f, -1f, 0.5f, -1f }));
        var grey = new float[2];
        ImageResize.ConvertChannels([1f, 1f, -1f, 1f, 0.5f, 1f], 3, grey, 1, 2);
        Assert.That(grey, Is.EqualTo(new[] { 0.299f - 0.587f + 0.057f, 1f }).Within(1e-6f));
    }

    [Test]
    public void ResizedDataset_delivers_the_requested_shape_and_keeps_labels()
    {
        var inner = new SyntheticDataset(3, channels: 3, height: 2, width: 2, classes: 5)
        {
            Images =
            [
                [0f, 0f, 0f, 0f, 1f, 1f, 1f, 1f, -1f, -1f, -1f, -1f],
                [0f, 1f, 2f, 3f, 0f, 1f, 2f, 3f, 0f, 1f, 2f, 3f],
                new float[12],
            ],
        };
        var grey = new ResizedDataset(inner, 1, 1, 1);
        Assert.That((grey.Count, grey.Channels, grey.Height, grey.Width, grey.ClassCount), Is.EqualTo((3, 1, 1, 1, 5)));
        Assert.That(ReadOne(grey, 0), Is.EqualTo(new[] { 0.587f - 0.114f }).Within(1e-6f));
        Assert.That(ReadOne(grey, 1), Is.EqualTo(new[] { 1.5f }).Within(1e-6f));
        Assert.That(grey.Label(2), Is.EqualTo(2));

        var big = new ResizedDataset(new ResizedDataset(inner, 2, 2, 1), 4, 4, 3);
        var image = ReadOne(big, 1);
        var plane = new[] { 0f, 0.25f, 0.75f, 1f, 0.5f, 0.75f, 1.25f, 1.5f, 1.5f, 1.75f, 2.25f, 2.5f, 2f, 2.25f, 2.75f, 3f };
        Assert.That(image, Is.EqualTo(plane.Concat(plane).Concat(plane)).Within(1e-5f));
    }

    [Test]
    public void Factory_wraps_digits_to_the_spec_and_leaves_a_matching_shape_alone()
    {
        var plain = DatasetFactory.Open(new DatasetSpec("digits", null, DatasetSplit.Train, 8, 1));
        Assert.That(plain, Is.InstanceOf<DigitsDataset>());
        var wrapped = DatasetFactory.Open(new DatasetSpec("Digits", null, DatasetSplit.Test, 16, 3));
        Assert.That((wrapped.Count, wrapped.Channels, wrapped.Height, wrapped.Width, wrapped.ClassCount), Is.EqualTo((359, 3, 16, 16, 10)));
        var image = ReadOne(wrapped, 7);
        Assert.That(image, Is.All.InRange(-1f, 1f));
        Assert.That(image[..256], Is.EqualTo(image[256..512]));
        var original = ReadOne(DigitsDataset.BuiltIn(DatasetSplit.Test), 7);
        // Upscaling by 2 with centres aligned: output (1, 1) interpolates source (0.25, 0.25).
        var expected = (0.75f * 0.75f * original[0]) + (0.75f * 0.25f * (original[1] + original[8])) + (0.25f * 0.25f * original[9]);
        Assert.That(image[17], Is.EqualTo(expected).Within(1e-5f));
    }

    private static float[] ReadOne(IImageDataset dataset, int index)
    {
        var image = new float[dataset.Channels * dataset.Height * dataset.Width];
        dataset.ReadImage(index, image);
        return image;
    }
}
