using System.Collections.Immutable;
using System.Reflection;
using System.Runtime.CompilerServices;
using GanEngine.Kernels.Compiler;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace GanEngine.Tests.Compiler;

/// <summary>Runs the kernel generator in-process on in-memory sources.</summary>
internal static class GeneratorHarness
{
    public const string FileName = "Kernels.cs";

    private static readonly Lazy<ImmutableArray<MetadataReference>> References = new(() =>
    {
        var paths = ((string)AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES")!).Split(Path.PathSeparator).ToList();
        paths.Add(typeof(GanEngine.Kernels.KernelAttribute).Assembly.Location);
        return paths.Distinct().Select(p => (MetadataReference)MetadataReference.CreateFromFile(p)).ToImmutableArray();
    });

    public sealed record Result(Compilation Output, ImmutableArray<Diagnostic> GeneratorDiagnostics, ImmutableArray<SyntaxTree> Generated)
    {
        public IEnumerable<Diagnostic> Errors => GeneratorDiagnostics.Where(d => d.Severity == DiagnosticSeverity.Error);

        public IEnumerable<Diagnostic> OutputErrors => Output.GetDiagnostics().Where(d => d.Severity == DiagnosticSeverity.Error);

        public string GeneratedText => string.Join("\n// ----\n", Generated.Select(t => t.ToString()));

        /// <summary>The value of a named string argument of the KernelDefinition constructor for kernel <paramref name="kernel"/>.</summary>
        public string DefinitionString(string kernel, string argument)
        {
            foreach (var tree in Generated)
            {
                var property = tree.GetRoot().DescendantNodes().OfType<PropertyDeclarationSyntax>().FirstOrDefault(p => p.Identifier.Text == kernel + "Definition");
                var arg = property?.DescendantNodes().OfType<ArgumentSyntax>().FirstOrDefault(a => a.NameColon?.Name.Identifier.Text == argument);
                if (arg?.Expression is LiteralExpressionSyntax literal)
                {
                    return literal.Token.ValueText;
                }
            }
            throw new InvalidOperationException($"No {argument} for kernel {kernel} in:\n{GeneratedText}");
        }
    }

    public static Result Run(string source, string assemblyName = "KernelTests")
    {
        var parse = new CSharpParseOptions(LanguageVersion.Latest);
        var tree = CSharpSyntaxTree.ParseText(source, parse, path: FileName);
        var compilation = CSharpCompilation.Create(assemblyName, new[] { tree }, References.Value,
            new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary, allowUnsafe: true, nullableContextOptions: NullableContextOptions.Enable));
        var input = compilation.GetDiagnostics().Where(d => d.Severity == DiagnosticSeverity.Error).ToList();
        if (input.Count > 0)
        {
            throw new InvalidOperationException("Test source does not compile:\n" + string.Join("\n", input));
        }
        GeneratorDriver driver = CSharpGeneratorDriver.Create(new[] { new KernelGenerator().AsSourceGenerator() }, parseOptions: parse);
        driver = driver.RunGeneratorsAndUpdateCompilation(compilation, out var output, out var diagnostics);
        var generated = output.SyntaxTrees.Where(t => t != tree).ToImmutableArray();
        return new Result(output, diagnostics, generated);
    }

    /// <summary>Source wrapped with the usual usings and a namespace.</summary>
    public static string Kernel(string classBody) =>
        "using GanEngine.Kernels;\nusing System;\n\nnamespace Tests.K;\n\npublic static partial class C\n{\n" + classBody + "\n}\n";

    public static string GoldenDirectory([CallerFilePath] string path = "") => Path.Combine(Path.GetDirectoryName(path)!, "Golden");
}
