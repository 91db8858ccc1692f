package sagemaker

import (
	"fmt"
	"sort"
	"strings"
)

// registries maps an AWS region to the account of the ECR registry that
// holds SageMaker's ipinsights image there. Source: the SageMaker Python
// SDK, src/sagemaker/image_uri_config/ipinsights.json (version "1").
var registries = map[string]string{
	"af-south-1":      "455444449433",
	"ap-east-1":       "286214385809",
	"ap-northeast-1":  "351501993468",
	"ap-northeast-2":  "835164637446",
	"ap-northeast-3":  "867004704886",
	"ap-south-1":      "991648021394",
	"ap-south-2":      "628508329040",
	"ap-southeast-1":  "475088953585",
	"ap-southeast-2":  "712309505854",
	"ap-southeast-3":  "951798379941",
	"ap-southeast-4":  "106583098589",
	"ca-central-1":    "469771592824",
	"ca-west-1":       "190319476487",
	"cn-north-1":      "390948362332",
	"cn-northwest-1":  "387376663083",
	"eu-central-1":    "664544806723",
	"eu-central-2":    "680994064768",
	"eu-north-1":      "669576153137",
	"eu-south-1":      "257386234256",
	"eu-south-2":      "104374241257",
	"eu-west-1":       "438346466558",
	"eu-west-2":       "644912444149",
	"eu-west-3":       "749696950732",
	"il-central-1":    "898809789911",
	"me-central-1":    "272398656194",
	"me-south-1":      "249704162688",
	"sa-east-1":       "855470959533",
	"us-east-1":       "382416733822",
	"us-east-2":       "404615174143",
	"us-gov-east-1":   "237065988967",
	"us-gov-west-1":   "226302683700",
	"us-iso-east-1":   "490574956308",
	"us-isob-east-1":  "765400339828",
	"us-isof-east-1":  "108575199400",
	"us-isof-south-1": "124985052026",
	"us-west-1":       "632365934929",
	"us-west-2":       "174872318107",
}

// ImageRepository and ImageTag name SageMaker's IP Insights image.
const (
	ImageRepository = "ipinsights"
	ImageTag        = "1"
)

// dnsSuffix returns the DNS suffix of the AWS partition of region.
func dnsSuffix(region string) string {
	switch {
	case strings.HasPrefix(region, "cn-"):
		return "amazonaws.com.cn"
	case strings.HasPrefix(region, "us-isob-"):
		return "sc2s.sgov.gov"
	case strings.HasPrefix(region, "us-isof-"):
		return "csp.hci.ic.gov"
	case strings.HasPrefix(region, "us-iso-"):
		return "c2s.ic.gov"
	default:
		return "amazonaws.com"
	}
}

// ImageURI returns the URI of SageMaker's IP Insights training and
// inference image in region, for example
// 382416733822.dkr.ecr.us-east-1.amazonaws.com/ipinsights:1.
func ImageURI(region string) (string, error) {
	acct, ok := registries[region]
	if !ok {
		return "", fmt.Errorf("sagemaker: no IP Insights image is published in region %q (known regions: %s)",
			region, strings.Join(Regions(), ", "))
	}
	return fmt.Sprintf("%s.dkr.ecr.%s.%s/%s:%s", acct, region, dnsSuffix(region), ImageRepository, ImageTag), nil
}

// Regions returns the regions where SageMaker publishes the IP Insights
// image, sorted.
func Regions() []string {
	rs := make([]string, 0, len(registries))
	for r := range registries {
		rs = append(rs, r)
	}
	sort.Strings(rs)
	return rs
}
