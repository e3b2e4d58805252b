using System.Globalization;

namespace Berth.Api.Validation;

/// <summary>
/// A bad value rendered the way upstream's field.Error prints values that are not plain strings: Go's %#v for
/// lists and structs, bare numbers, and "null" for a nil pointer. Clients and scripts parse these messages
/// (vcluster reads the service CIDR out of `Invalid value: []string{"1.1.1.1"}`), so the text must match.
/// </summary>
public readonly record struct GoValue(string Text)
{
    /// <summary>A nil pointer.</summary>
    public static GoValue Null { get; } = new("null");

    public static GoValue Int(long value) => new(value.ToString(CultureInfo.InvariantCulture));

    /// <summary>A *string (or pointer to a named string type): the quoted value, or null.</summary>
    public static GoValue OptionalString(string? value) => value is null ? Null : new(FieldError.Quote(value));

    /// <summary>A []string: <c>[]string{"a", "b"}</c>, <c>[]string{}</c>, or <c>[]string(nil)</c>.</summary>
    public static GoValue Strings(IReadOnlyList<string>? values) => Slice("[]string", values);

    /// <summary>A []core.IPFamily, as the internal API type prints.</summary>
    public static GoValue IPFamilies(IReadOnlyList<string>? values) => Slice("[]core.IPFamily", values);

    private static GoValue Slice(string type, IReadOnlyList<string>? values) => values is null
        ? new($"{type}(nil)")
        : new($"{type}{{{string.Join(", ", values.Select(FieldError.Quote))}}}");
}
