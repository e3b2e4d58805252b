using static Berth.ApiServer.Tests.Tables.TableTestSupport;

namespace Berth.ApiServer.Tests.Tables;

// printNamespace, printConfigMap, printSecret, printPersistentVolumeClaim, printLease and the default table.
public class CorePrinterTests
{
    [Theory]
    [InlineData("Active")]
    [InlineData("Terminating")]
    public void Cells_Namespace_StatusIsPhase(string phase) =>
        Assert.Equal(
            new object[] { "kiada", phase, "3d5h" },
            Row("namespaces", """{"metadata":{"name":"kiada","creationTimestamp":"T-77h"},"status":{"phase":"PHASE"}}""".Replace("PHASE", phase, StringComparison.Ordinal)));

    [Fact]
    public void Cells_ConfigMap_CountsDataAndBinaryData() =>
        Assert.Equal(
            new object[] { "kiada-envoy-config", 3L, "12m" },
            Row("configmaps", """{"metadata":{"name":"kiada-envoy-config","creationTimestamp":"T-12m"},"data":{"envoy.yaml":"...","extra":"x"},"binaryData":{"dummy.bin":"AAE="}}"""));

    [Fact]
    public void Cells_EmptyConfigMap_IsZero() =>
        Assert.Equal(new object[] { "empty", 0L, "<unknown>" }, Row("configmaps", """{"metadata":{"name":"empty"}}"""));

    [Fact]
    public void Cells_Secret_TypeAndDataCount() =>
        Assert.Equal(
            new object[] { "kiada-tls", "kubernetes.io/tls", 2L, "45s" },
            Row("secrets", """{"metadata":{"name":"kiada-tls","creationTimestamp":"T-45s"},"type":"kubernetes.io/tls","data":{"tls.crt":"Y2VydA==","tls.key":"a2V5"}}"""));

    [Fact]
    public void Cells_BoundClaim_AllColumns() =>
        Assert.Equal(
            new object[] { "data", "Bound", "pvc-1234", "1Gi", "RWO,RWX", "standard", "<unset>", "4h", "Filesystem" },
            Row("persistentvolumeclaims", """
                {"metadata":{"name":"data","creationTimestamp":"T-4h"},
                 "spec":{"accessModes":["ReadWriteOnce"],"resources":{"requests":{"storage":"500Mi"}},"storageClassName":"standard","volumeName":"pvc-1234","volumeMode":"Filesystem"},
                 "status":{"phase":"Bound","accessModes":["ReadWriteMany","ReadWriteOnce","ReadWriteOnce"],"capacity":{"storage":"1Gi"}}}
                """));

    [Fact]
    public void Cells_PendingClaim_NoCapacityOrModes() =>
        Assert.Equal(
            new object[] { "data", "Pending", "", "", "", "fast", "gold", "<unknown>", "<unset>" },
            Row("persistentvolumeclaims", """
                {"metadata":{"name":"data","annotations":{"volume.beta.kubernetes.io/storage-class":"fast"}},
                 "spec":{"accessModes":["ReadWriteOncePod"],"storageClassName":"standard","volumeAttributesClassName":"gold"},
                 "status":{"phase":"Pending"}}
                """));

    [Fact]
    public void Cells_DeletingClaim_IsTerminating()
    {
        var cells = Row("persistentvolumeclaims", """{"metadata":{"name":"d","deletionTimestamp":"T-1s"},"spec":{"volumeName":"v"},"status":{"phase":"Bound","accessModes":["ReadOnlyMany","ReadWriteOncePod"]}}""");

        Assert.Equal("Terminating", cells[1]);
        Assert.Equal("0", cells[3]);
        Assert.Equal("ROX,RWOP", cells[4]);
    }

    [Theory]
    [InlineData("""{"holderIdentity":"berth-node","leaseDurationSeconds":40}""", "berth-node")]
    [InlineData("""{}""", "")]
    public void Cells_Lease_Holder(string spec, string holder) =>
        Assert.Equal(
            new object[] { "berth-node", holder, "2m30s" },
            Row("leases.coordination.k8s.io", """{"metadata":{"name":"berth-node","namespace":"kube-node-lease","creationTimestamp":"T-150s"},"spec":SPEC}""".Replace("SPEC", spec, StringComparison.Ordinal)));

    [Theory]
    [InlineData("serviceaccounts")]
    [InlineData("widgets.example.com")]
    [InlineData("")]
    public void Cells_UnknownResource_NameAndCreatedAt(string resource)
    {
        Assert.Equal(
            new object[] { "thing", "2024-12-31T22:00:00Z" },
            Row(resource, """{"metadata":{"name":"thing","creationTimestamp":"2024-12-31T23:00:00+01:00"}}"""));
        Assert.Equal(
            new object[] { "nothing", "0001-01-01T00:00:00Z" },
            Row(resource, """{"metadata":{"name":"nothing"}}"""));
    }
}
