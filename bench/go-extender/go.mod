module numafit-bench/goextender

go 1.19
