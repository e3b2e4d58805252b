namespace Berth.Api.Patch;

/// <summary>
/// The patch metadata of one object type, the seam between strategic merge patch and the type
/// model (upstream <c>strategicpatch.LookupPatchMeta</c>). A null answer means "unknown": the patch
/// then merges maps and replaces lists, like <see cref="NoPatchSchema"/>.
/// </summary>
public interface IPatchSchema
{
    /// <summary>The schema of the value of property <paramref name="name"/> (for maps, of every value).</summary>
    IPatchSchema? Field(string name);

    /// <summary>The schema of the elements when this schema describes a list.</summary>
    IPatchSchema? Items();

    /// <summary>The patch strategy and merge key declared on property <paramref name="name"/>.</summary>
    PatchFieldInfo FieldInfo(string name);
}

/// <summary>The <c>patchStrategy</c> struct tag / <c>x-kubernetes-patch-strategy</c> extension, as flags.</summary>
[Flags]
public enum PatchStrategy
{
    None = 0,
    Merge = 1,
    Replace = 2,
    RetainKeys = 4,
}

/// <summary>Patch metadata of one property: strategy flags and the list merge key.</summary>
public readonly record struct PatchFieldInfo(PatchStrategy Strategy, string? MergeKey)
{
    /// <summary>Parses <c>x-kubernetes-patch-strategy</c> ("merge", "retainKeys", "merge,retainKeys", "replace").</summary>
    public static PatchFieldInfo From(string? strategy, string? mergeKey)
    {
        var flags = PatchStrategy.None;
        if (!string.IsNullOrEmpty(strategy))
        {
            foreach (var part in strategy.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
            {
                flags |= part switch
                {
                    "merge" => PatchStrategy.Merge,
                    "replace" => PatchStrategy.Replace,
                    "retainKeys" => PatchStrategy.RetainKeys,
                    _ => PatchStrategy.None,
                };
            }
        }

        return new PatchFieldInfo(flags, string.IsNullOrEmpty(mergeKey) ? null : mergeKey);
    }

    public bool IsMerge => (Strategy & PatchStrategy.Merge) != 0;

    public bool IsReplace => (Strategy & PatchStrategy.Replace) != 0;
}

/// <summary>
/// No metadata at all: maps merge, every list is replaced. Upstream's behaviour for types it has no
/// struct tags for (and what JSON merge patch does).
/// </summary>
public sealed class NoPatchSchema : IPatchSchema
{
    public static NoPatchSchema Instance { get; } = new();

    private NoPatchSchema()
    {
    }

    public IPatchSchema? Field(string name) => this;

    public IPatchSchema? Items() => this;

    public PatchFieldInfo FieldInfo(string name) => default;
}
