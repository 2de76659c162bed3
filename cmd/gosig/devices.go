package main

import (
	"encoding/json"
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/gosig/gosig/gpu"
)

func newDevicesCmd() *cobra.Command {
	var (
		backend string
		all     bool
		asJSON  bool
	)
	cmd := &cobra.Command{
		Use:   "devices",
		Short: "List the WebGPU adapters gosig can run on",
		Long: `devices lists the adapters of a WebGPU backend: name, type (discrete,
integrated, cpu, unknown), backend, driver, the limits that bound model and
batch sizes, and whether the adapter has shader-f16 and timestamp queries.

The backend is --backend, else $GOSIG_BACKEND, else vulkan (metal on macOS);
--all tries every backend. Pick an adapter for other commands with
GOSIG_ADAPTER (a substring of its name).`,
		Example: `  gosig devices
  gosig devices --all --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			backends := []string{backend}
			if all {
				backends = []string{"vulkan", "metal", "dx12", "gl"}
			}
			var infos []gpu.AdapterInfo
			for _, b := range backends {
				as, err := gpu.Adapters(gpu.Options{Backend: b})
				if err != nil {
					return usageErrorf("%w", err)
				}
				infos = append(infos, as...)
			}
			out := cmd.OutOrStdout()
			if asJSON {
				enc := json.NewEncoder(out)
				for _, a := range infos {
					if err := enc.Encode(a); err != nil {
						return err
					}
				}
				return nil
			}
			if len(infos) == 0 {
				// Open explains what to install.
				_, err := gpu.Open(gpu.Options{Backend: backend})
				if err == nil {
					err = fmt.Errorf("no adapter found")
				}
				return err
			}
			tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "NAME\tTYPE\tBACKEND\tDRIVER\tMAX BUFFER\tMAX BINDING\tWG MEMORY\tF16\tTIMESTAMPS")
			for _, a := range infos {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", a.Name, a.Type, a.Backend, a.Driver,
					mib(a.Limits.MaxBufferSize), mib(a.Limits.MaxStorageBufferBindingSize),
					fmt.Sprintf("%d KiB", a.Limits.MaxComputeWorkgroupStorageSize>>10),
					yesNo(a.Features.ShaderF16), yesNo(a.Features.TimestampQuery))
			}
			return tw.Flush()
		},
	}
	cmd.Flags().StringVar(&backend, "backend", "", "vulkan, metal, dx12 or gl (default $GOSIG_BACKEND, else vulkan)")
	cmd.Flags().BoolVar(&all, "all", false, "list the adapters of every backend")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print one JSON object per adapter")
	return cmd
}

func mib(n uint64) string { return fmt.Sprintf("%d MiB", n>>20) }

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}
