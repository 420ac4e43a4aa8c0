// Command hello is a stand-in main package that the testutil tests build to
// check Binary without depending on the real server compiling.
package main

import (
	"fmt"
	"os"
)

func main() {
	fmt.Println("hello from", len(os.Args)-1, "args")
}
